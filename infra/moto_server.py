"""moto's server, made to behave like DynamoDB for Roster's concurrency and data-size tests.

Three changes, about TransactWriteItems and Query in moto 5.2 (pinned in requirements-stack.txt):

1. Requests are handled one at a time. moto's threaded server ran transactions concurrently
   without isolation: under 20 concurrent sign-ups two transactions both passed the same
   attribute_not_exists condition. Real DynamoDB serializes conflicting transactions.
2. A transaction no longer deep-copies every table it touches (to roll back on failure); it
   keeps the prior versions of the items it touches and restores just those. The whole-table
   copy made each transaction cost O(table size), so a 2,000-member account took minutes, and
   its rollback replaced the entire table with a stale copy.
3. A Query on the table reads its own partition. moto sorted every item of the table for each
   query and then kept the partition's: with the suite's 50,000-item purge fixture in the
   table, every query of every test cost ~0.3 s and the local DynamoDB served ~3 requests a
   second. (Index queries still read the whole table, as in moto.)

Usage: python moto_server.py HOST PORT
"""
import copy
import os
import signal
import sys
import threading

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class _NoTableCopy:
    """Stands in for the `copy` module inside moto's DynamoDB backend: tables are not copied."""

    @staticmethod
    def deepcopy(value, *args, **kwargs):
        return value if isinstance(value, Table) else copy.deepcopy(value, *args, **kwargs)


dynamodb_models.copy = _NoTableCopy

_original_transact = DynamoDBBackend.transact_write_items


def _key_of(backend, op):
    if "Key" in op:
        return op["Key"]
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _transact_with_item_undo(self, transact_items):
    undo = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        if op.get("TableName") in self.tables:
            key = _key_of(self, op)
            before = self.get_item(op["TableName"], key)
            undo.append((op["TableName"], key, None if before is None else copy.deepcopy(before.to_json()["Attributes"])))
    try:
        _original_transact(self, transact_items)
    except Exception:
        for table_name, key, before in reversed(undo):
            if before is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, before)
        raise


DynamoDBBackend.transact_write_items = _transact_with_item_undo

_queried_partition = threading.local()
_original_query = Table.query
_original_all_items = Table.all_items


def _query_one_partition(self, hash_key, *args, **kwargs):
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    _queried_partition.key = hash_key if index_name is None else None
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        _queried_partition.key = None


def _all_items_of_the_queried_partition(self):
    key = getattr(_queried_partition, "key", None)
    if key is None or not self.range_key_attr:
        return _original_all_items(self)
    # moto keeps items as {hash key: {range key: item}}; the same order as all_items() gives.
    return sorted(self.items.get(key, {}).values(), key=lambda x: x.range_key)


Table.query = _query_one_partition
Table.all_items = _all_items_of_the_queried_partition


class FairLock:
    """First come, first served: a plain Lock lets a busy client barge in again and again, so one
    request could wait behind many others' for tens of seconds."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            while ticket != self._serving:
                self._cond.wait()

    def __exit__(self, *_exc: object) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    lock = FairLock()

    def serialized(environ, start_response):
        with lock:
            # Drain the response inside the lock: the work may be lazy.
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
