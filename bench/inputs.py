"""Generated inputs of `make bench`: the SQL script for the sqlite workload
and the C file for the compile workload.

Both are generated rather than stored because their size is a parameter
(QUICK runs use smaller ones) and a few thousand lines of repetitive text
say less in the repository than the twenty lines that make them. The output
is a pure function of the parameters, so every run of a benchmark sees the
same bytes.
"""


def _lcg(seed):
    """Deterministic pseudo-random numbers, independent of Python's random
    module and its version."""
    state = seed & 0xFFFFFFFF
    while True:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        yield state


def sqlite_script(customers):
    """SQL for the sqlite3 CLI on :memory:. Inserts `customers` rows and
    three orders per customer one statement at a time (the parser, the
    b-tree pages and the statement cache all allocate), builds indexes,
    then runs grouped, joined and sorted selects, updates and deletes.
    Every SELECT is ordered, so the output is deterministic."""
    rnd = _lcg(customers)
    cities = ["Lyon", "Porto", "Graz", "Turku", "Gent", "Cork", "Brno",
              "Pisa", "Bern", "Oslo", "Riga", "Split"]
    items = ["bolt", "nut", "gear", "valve", "pump", "hose", "belt", "seal"]
    out = [
        "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " city TEXT NOT NULL, balance INTEGER NOT NULL);",
        "CREATE TABLE orders(id INTEGER PRIMARY KEY,"
        " customer INTEGER NOT NULL, item TEXT NOT NULL,"
        " qty INTEGER NOT NULL, cents INTEGER NOT NULL,"
        " note TEXT);",
        "BEGIN;",
    ]
    for c in range(1, customers + 1):
        out.append("INSERT INTO customers VALUES(%d,'customer %d','%s',%d);"
                   % (c, next(rnd) % 1000000, cities[next(rnd) % len(cities)],
                      next(rnd) % 100000))
    order_id = 0
    for c in range(1, customers + 1):
        for _ in range(3):
            order_id += 1
            out.append(
                "INSERT INTO orders VALUES(%d,%d,'%s',%d,%d,'%s');"
                % (order_id, c, items[next(rnd) % len(items)],
                   1 + next(rnd) % 20, next(rnd) % 50000,
                   "n" * (next(rnd) % 120)))
    out += [
        "COMMIT;",
        "CREATE INDEX orders_customer ON orders(customer);",
        "CREATE INDEX orders_item_qty ON orders(item, qty);",
        "CREATE INDEX customers_city ON customers(city, balance);",
        "SELECT city, count(*), sum(balance) FROM customers"
        " GROUP BY city ORDER BY city;",
        "SELECT c.city, o.item, count(*), sum(o.qty * o.cents)"
        " FROM orders o JOIN customers c ON c.id = o.customer"
        " GROUP BY c.city, o.item ORDER BY c.city, o.item;",
        "SELECT name, balance FROM customers ORDER BY balance DESC, id"
        " LIMIT 10;",
        "UPDATE orders SET note = note || '-shipped' WHERE qty > 10;",
        "DELETE FROM orders WHERE cents < 5000;",
        "SELECT item, count(*), sum(length(note)), max(cents) FROM orders"
        " GROUP BY item ORDER BY item;",
        "SELECT count(*) FROM orders o WHERE o.customer IN"
        " (SELECT id FROM customers WHERE city = 'Oslo' AND balance > 50000);",
        "SELECT group_concat(name, ',') FROM (SELECT name FROM customers"
        " ORDER BY name LIMIT 200);",
    ]
    return "\n".join(out) + "\n"


def compile_source(functions):
    """A C translation unit of about 50 lines per function, without any
    #include (cc1 runs without the driver's include paths): structs,
    loops the optimiser unrolls and vectorises, switches that become jump
    tables, small functions it inlines, and a table of pointers to all of
    the work functions so that none is discarded. gcc's cc1 allocates
    heavily in its parser, GIMPLE and RTL passes: a real program with a
    real heap."""
    rnd = _lcg(functions * 7 + 1)
    out = [
        "typedef unsigned long u64;",
        "typedef unsigned int u32;",
        "struct rec { u64 key; u32 count; u32 flags; double weight;"
        " char name[24]; struct rec *next; };",
        "static inline u64 mix(u64 x) { x ^= x >> 31;"
        " x *= 0x9E3779B97F4A7C15ul; return x ^ (x >> 29); }",
    ]
    for f in range(functions):
        a, b, c = (next(rnd) % 97 + 1 for _ in range(3))
        cases = 4 + next(rnd) % 9
        out.append("u64 work_%d(struct rec *r, u32 n, const u64 *v)" % f)
        out.append("{")
        out.append("    u64 acc = %du, t[16];" % a)
        out.append("    for (u32 i = 0; i < 16; i++)")
        out.append("        t[i] = mix(i * %du + acc);" % b)
        out.append("    for (u32 i = 0; i < n; i++) {")
        out.append("        acc += v[i] * %du + (t[i & 15] ^ (acc >> 7));" % c)
        out.append("        if (acc & %du)" % (1 << (f % 16)))
        out.append("            acc = mix(acc);")
        out.append("    }")
        out.append("    for (struct rec *p = r; p; p = p->next) {")
        out.append("        switch ((p->key + %du) %% %d) {" % (a, cases))
        for k in range(cases):
            out.append("        case %d: p->count += %du; p->weight *= %d.5;"
                       " acc ^= p->key << %d; break;"
                       % (k, next(rnd) % 9 + 1, k + 1, k % 13))
        out.append("        default: p->flags |= %du; break;"
                   % (1 << (k % 30)))
        out.append("        }")
        out.append("        for (u32 j = 0; j < sizeof p->name; j++)")
        out.append("            acc += (u64)p->name[j] * (j + %du);" % a)
        out.append("    }")
        if f:
            out.append("    if (n > %du)" % (next(rnd) % 1000))
            out.append("        acc += work_%d(r, n / 2, v);"
                       % (next(rnd) % f))
        out.append("    return acc + t[n & 15];")
        out.append("}")
        # Straight-line code: lines for the parser, little for the optimiser.
        out.append("void init_%d(struct rec *r, u64 key)" % f)
        out.append("{")
        out.append("    r->key = key ^ %du;" % a)
        out.append("    r->count = %du;" % b)
        out.append("    r->flags = 0;")
        out.append("    r->weight = %d.25;" % c)
        for j in range(8):
            out.append("    r->name[%d] = (char)('a' + (key >> %d) %% 26);"
                       % (j, j * 3))
        out.append("    r->next = 0;")
        out.append("}")
    out.append("u64 (*const work_table[])(struct rec *, u32, const u64 *) = {")
    out += ["    work_%d," % f for f in range(functions)]
    out.append("};")
    return "\n".join(out) + "\n"
