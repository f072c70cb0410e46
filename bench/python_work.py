"""The Python workload of `make bench`: /usr/bin/python3 python_work.py ROUNDS

Each round builds a list of records (dicts of strings and numbers), turns
it into JSON text and back, and indexes the result by key: the allocation
pattern of a small web service or a data script. CPython serves small
objects from its own arenas and sends the rest (long strings, list and dict
tables, the JSON text) to malloc, so the tracers see a realistic mix.

Prints a digest of everything built, identical from run to run (dicts keep
insertion order, and no set or hash order reaches the output), so that the
benchmark can compare traced output with native output.
"""
import hashlib
import json
import sys


def make_records(round_no, count):
    records = []
    for i in range(count):
        n = (round_no * 7919 + i * 104729) % 1000003
        records.append({
            "id": n,
            "name": "customer-%06d" % n,
            "email": "user%d@example.org" % (n % 50000),
            "tags": ["tag%d" % (n % k) for k in (3, 5, 7, 11)],
            "note": ("lorem ipsum dolor sit amet " * (1 + n % 40)).strip(),
            "score": n % 997 / 7.0,
        })
    return records


def index_records(records):
    by_tag = {}
    for record in records:
        for tag in record["tags"]:
            by_tag.setdefault(tag, []).append(record["id"])
    return by_tag


def main():
    rounds = int(sys.argv[1])
    digest = hashlib.sha256()
    for round_no in range(rounds):
        text = json.dumps(make_records(round_no, 2000), sort_keys=True)
        loaded = json.loads(text)
        by_tag = index_records(loaded)
        joined = ",".join(record["name"] for record in loaded)
        digest.update(text.encode())
        digest.update(joined.encode())
        digest.update(json.dumps(by_tag, sort_keys=True).encode())
    print("python rounds=%d digest=%s" % (rounds, digest.hexdigest()[:32]))


if __name__ == "__main__":
    main()
