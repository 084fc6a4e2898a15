"""moto's server with one change: requests are handled one at a time.

moto's threaded server runs DynamoDB transactions concurrently without isolation: under 20
concurrent sign-ups two TransactWriteItems both passed the same attribute_not_exists condition.
Real DynamoDB serializes conflicting transactions, so the stand-in must too. Connections stay
threaded (HTTP/1.1 keep-alive); only the work inside moto is serialized.

Usage: python moto_server.py HOST PORT
"""
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            # Drain the response inside the lock: the work may be lazy.
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
