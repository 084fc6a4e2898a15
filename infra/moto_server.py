"""moto's server, made to behave like DynamoDB for Roster's concurrency and data-size tests.

Eleven changes, about TransactWriteItems, Query, answers and per-item costs in moto 5.2 (pinned
in requirements-stack.txt); 5 to 11 are described where they are made, below:

1. Requests are handled one at a time. moto's threaded server ran transactions concurrently
   without isolation: under 20 concurrent sign-ups two transactions both passed the same
   attribute_not_exists condition. Real DynamoDB serializes conflicting transactions.
2. A transaction no longer deep-copies every table it touches (to roll back on failure); it
   keeps the prior versions of the items it touches and restores just those. The whole-table
   copy made each transaction cost O(table size), so a 2,000-member account took minutes, and
   its rollback replaced the entire table with a stale copy.
3. A Query on the table reads its own partition, and only the part of it the key condition,
   the start key and the limit reach (found by bisection, as DynamoDB reads a B-tree). moto
   sorted every item of the table for each query, then skipped the items before the start key
   one Python comparison at a time: with the suite's 50,000-item purge fixture in the table,
   every query of every test cost ~0.3 s, and paging through a 100,000-entry system log cost
   minutes. An index query reads only the items of its index partition (found by one pass in
   plain comparisons; moto tested every item with its condition objects: seconds per query with
   the 100,000-entry export fixture in the table).

4. Answers that carry items (Query, Scan, GetItem, BatchGetItem) are written with json.dumps.
   moto's generic response serializer walked them against the service model: 3 s for one
   Query page of 1,000 items, so a 20,000-member export took a minute of moto's time.

Usage: python moto_server.py HOST PORT
"""
import base64
import copy
import datetime
import json
import os
import signal
import sys
import threading

import moto.backends as moto_backends
import moto.dynamodb.comparisons as comparisons
import moto.dynamodb.models as dynamodb_models
import moto.dynamodb.responses as dynamodb_responses
from moto.core.parse import JSONParser
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.responses import DynamoResult
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from sortedcontainers import SortedList
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

_queried_window = threading.local()
_original_query = Table.query
_original_all_items = Table.all_items


_SYMBOLS = {"=": "EQ", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}


def _sk(item):
    return item.range_key.value


def _window(table, hash_key, comparison, values, limit, start_key, forward):
    """The items of the partition the query can reach, in key order; None when the condition is
    not one this knows (then moto reads everything, as before)."""
    v = [x.value for x in (values or [])]
    comparison = _SYMBOLS.get(comparison, comparison)
    if not all(isinstance(x, str) for x in v):
        return None
    keys, by_key = _in_order(table, hash_key)
    lo, hi = 0, len(keys)
    if comparison is None:
        pass
    elif comparison == "BETWEEN":
        lo, hi = keys.bisect_left(v[0]), keys.bisect_right(v[1])
    elif comparison == "BEGINS_WITH":
        # Every key that starts with the prefix sorts below prefix + the last code point (the
        # loop takes the keys that go on with that code point).
        lo, hi = keys.bisect_left(v[0]), keys.bisect_left(v[0] + "\U0010ffff")
        while hi < len(keys) and keys[hi].startswith(v[0]):
            hi += 1
    elif comparison == "EQ":
        lo, hi = keys.bisect_left(v[0]), keys.bisect_right(v[0])
    elif comparison == "LT":
        hi = keys.bisect_left(v[0])
    elif comparison == "LE":
        hi = keys.bisect_right(v[0])
    elif comparison == "GT":
        lo = keys.bisect_right(v[0])
    elif comparison == "GE":
        lo = keys.bisect_left(v[0])
    else:
        return None
    if start_key:
        start = next(iter(start_key[table.range_key_attr].values()))
        if forward:
            lo = max(lo, keys.bisect_right(start))
        else:
            hi = min(hi, keys.bisect_left(start))
    # moto reads `limit` items of the range at most (one more shows that more follow).
    if limit and hi - lo > limit + 1:
        lo, hi = (lo, lo + limit + 1) if forward else (hi - limit - 1, hi)
    return [by_key[k] for k in keys.islice(lo, max(lo, hi))]


# 8. A partition's sort keys are kept in order from one query to the next (3 sorted the whole
#    partition at each query: 30% of the stand-in's time in a first sync of 100,000 people,
#    whose account partition holds half a million items), in a SortedList: adding one key to a
#    plain sorted list moved half the list. Items are added and removed only by Table.put_item
#    and Table.delete_item (updates change an item in place).
_ORDER = "_roster_keys_in_order"


def _in_order(table, hash_key):
    """The partition's sort keys, sorted, and its items by sort key."""
    kept = table.__dict__.setdefault(_ORDER, {})
    entry = kept.get(hash_key)
    if entry is None:
        by_key = {_sk(i): i for i in table.items.get(hash_key, {}).values()}
        entry = kept[hash_key] = (SortedList(by_key), by_key)
    return entry


def _put_in_order(self, *args, **kwargs):
    item = _original_table_put(self, *args, **kwargs)
    entry = self.__dict__.get(_ORDER, {}).get(item.hash_key)
    if entry is not None and item.range_key is not None:
        keys, by_key, k = *entry, _sk(item)
        if k not in by_key:
            keys.add(k)
        by_key[k] = item
    return item


def _delete_in_order(self, hash_key, range_key):
    item = _original_table_delete(self, hash_key, range_key)
    entry = self.__dict__.get(_ORDER, {}).get(hash_key)
    if entry is not None and item is not None and range_key is not None:
        keys, by_key = entry
        if by_key.pop(range_key.value, None) is not None:
            keys.remove(range_key.value)
    return item


_original_table_put, _original_table_delete = Table.put_item, Table.delete_item
Table.put_item, Table.delete_item = _put_in_order, _delete_in_order


def _index_partition(table, hash_conditions):
    """The items an index query's hash key names (moto tests every condition of every item of
    the table, one Python call at a time)."""
    wanted = [(name, value.type, value.value) for name, value in hash_conditions or []]
    if not wanted:
        return None
    found = []
    for partition in table.items.values():
        for item in partition.values():
            attrs = item.attrs
            if all((a := attrs.get(n)) is not None and a.type == t and a.value == v for n, t, v in wanted):
                found.append(item)
    return found


def _query_one_partition(self, hash_key, comparison, values, limit, start_key, forward, *args, **kwargs):
    index_name = kwargs.get("index_name", args[1] if len(args) > 1 else None)
    window = None
    if index_name is None and self.range_key_attr:
        window = _window(self, hash_key, comparison, values, limit, start_key, forward)
    elif index_name is not None and self.range_key_attr:
        # The start key and the range are left to moto: an index partition is small.
        window = _index_partition(self, kwargs.get("hash_key_conditions"))
        if window is not None:
            _queried_window.items = window
            try:
                return _original_query(self, hash_key, comparison, values, limit, start_key, forward, *args, **kwargs)
            finally:
                _queried_window.items = None
    if window is None:
        return _original_query(self, hash_key, comparison, values, limit, start_key, forward, *args, **kwargs)
    _queried_window.items = window
    try:
        return _original_query(self, hash_key, comparison, values, limit, None, forward, *args, **kwargs)
    finally:
        _queried_window.items = None


def _all_items_of_the_queried_window(self):
    items = getattr(_queried_window, "items", None)
    return _original_all_items(self) if items is None else items


Table.query = _query_one_partition
Table.all_items = _all_items_of_the_queried_window


_ITEM_ANSWERS = {"Query", "Scan", "GetItem", "BatchGetItem"}
_original_execute_result = DynamoResult.execute_result


def _json_value(value):
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    raise TypeError(f"not JSON: {type(value)}")


def _execute_item_answer(self, context):
    if context.operation_model.name not in _ITEM_ANSWERS:
        return _original_execute_result(self, context)
    body = json.dumps(self.result, default=_json_value, separators=(",", ":"))
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


DynamoResult.execute_result = _execute_item_answer


# 5. Nothing in the local stack reads the table's stream, and moto wrote every write's old and
#    new images into a record (serialized once more to measure it) kept in memory for good.
StreamShard.add = lambda self, old, new: None


# 6. An item's size is added up once. moto's dict summed all the attributes so far at each one
#    it set, so building an item cost the square of its attributes.
_ITEM_SIZE_LIMIT = 405000  # moto's own figure (LimitedSizeDict)


def _item_init(self, hash_key, range_key, attrs):
    self.hash_key, self.range_key = hash_key, range_key
    values = {name: DynamoType(value) for name, value in attrs.items()}
    if sum(bytesize(name) + value.size() for name, value in values.items()) > _ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict()
    dict.update(self.attrs, values)


Item.__init__ = _item_init


# 7. A condition is parsed once per distinct expression, names and values. moto parsed it for
#    every item it was checked against: three times for each item of a transaction.
class _ParsedCondition:
    """What moto reads of a condition parser: the expression and the names and values it used."""

    def __init__(self, op, names_found, values_found):
        self._op = op
        self.expr_attr_names_found = list(names_found)
        self.expr_attr_values_found = list(values_found)

    def parse(self):
        return self._op


_parsed_conditions = {}


def _condition_parser(expr, names, values):
    key = (expr, repr(names), repr(values))
    parsed = _parsed_conditions.get(key)
    if parsed is None:
        parser = _original_condition_parser(expr, names, values)
        op = parser.parse()
        parsed = (op, tuple(parser.expr_attr_names_found), tuple(parser.expr_attr_values_found))
        if len(_parsed_conditions) >= 10_000:
            _parsed_conditions.clear()
        _parsed_conditions[key] = parsed
    return _ParsedCondition(*parsed)


_original_condition_parser = comparisons.create_condition_expression_parser
for _module in (comparisons, dynamodb_models, dynamodb_responses):
    _module.create_condition_expression_parser = _condition_parser


# 9. A request's attribute values are taken as they arrive. moto parsed every request against
#    the service model, visiting all ten members of the AttributeValue structure for each value:
#    a third of the stand-in's time in a directory sync's transactions (each change written with
#    its claims, entry state and audit entry). Values the model would change or drop (binary,
#    malformed, with extra members) still go through moto's parser, so the result is the same.
_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_original_parse_structure = JSONParser._parse_structure
_original_parse_map = JSONParser._parse_map


def _attribute_value(parser, shape, value):
    if type(value) is dict and len(value) == 1:
        kind = next(iter(value))
        inner = value[kind]
        scalar = _SCALARS.get(kind)
        if scalar is not None:
            if type(inner) is scalar:
                return value
        elif kind == "M":
            if type(inner) is dict:
                return {"M": {k: _attribute_value(parser, shape, v) for k, v in inner.items()}}
        elif kind == "L":
            if type(inner) is list:
                return {"L": [_attribute_value(parser, shape, v) for v in inner]}
        elif kind in ("SS", "NS"):
            if type(inner) is list and all(type(v) is str for v in inner):
                return value
    return _original_parse_structure(parser, shape, value)


def _parse_structure(self, shape, value):
    if shape.name == "AttributeValue":
        return _attribute_value(self, shape, value)
    return _original_parse_structure(self, shape, value)


def _parse_map(self, shape, value):
    if shape.value.name == "AttributeValue" and shape.key.type_name == "string" and type(value) is dict:
        if self.MAP_TYPE is dict:
            return {k: _attribute_value(self, shape.value, v) for k, v in value.items()}
    return _original_parse_map(self, shape, value)


JSONParser._parse_structure = _parse_structure
JSONParser._parse_map = _parse_map


# 10. Attribute values are built, sized, hashed and compared by their type letter (moto asked
#     is_list(), is_map(), is_set()… for each, and hashed a string through cast_value).
_original_type_init = DynamoType.__init__
_original_type_size = DynamoType.size
_original_type_hash = DynamoType.__hash__
_original_type_eq = DynamoType.__eq__


def _type_init(self, type_as_dict):
    if type(type_as_dict) is not dict or not type_as_dict:
        return _original_type_init(self, type_as_dict)
    kind = next(iter(type_as_dict))
    value = type_as_dict[kind]
    if kind == "L":
        value = [DynamoType(v) for v in value]
    elif kind == "M":
        value = {k: DynamoType(v) for k, v in value.items()}
    self.type, self.value = kind, value


def _type_size(self):
    kind, value = self.type, self.value
    if kind in ("SS", "NS", "BS"):
        return _original_type_size(self)
    if kind == "N":
        return len(str(value))
    if kind == "M":
        return sum(bytesize(k) + (v if type(v) is DynamoType else DynamoType(v)).size() for k, v in value.items())
    if kind == "L":
        return sum(v.size() for v in value)
    if isinstance(value, bool):
        return 1
    return bytesize(value)


def _type_hash(self):
    return hash(("S", self.value)) if self.type == "S" else _original_type_hash(self)


def _type_eq(self, other):
    if self.type == "S" and other.type == "S":
        return self.value == other.value
    return _original_type_eq(self, other)


DynamoType.__init__, DynamoType.size = _type_init, _type_size
DynamoType.__hash__, DynamoType.__eq__ = _type_hash, _type_eq


# 11. moto listed its own package directory (57 stat calls) for every request to tell which
#     service a host names; the list is read once.
_moto_modules = tuple(moto_backends.list_of_moto_modules())
moto_backends.list_of_moto_modules = lambda: _moto_modules


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
    # Out at once: request threads still working through a queue would keep the process alive
    # after the suite that started it has ended (everything is in memory; nothing to flush).
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    lock = FairLock()

    def serialized(environ, start_response):
        with lock:
            # Drain the response inside the lock: the work may be lazy.
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
