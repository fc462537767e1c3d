"""Foreign keys checked once per statement (PostgreSQL), for the tables a batch of orders fills
by the thousand: sales orders, their lines and their allocations.

PostgreSQL checks a foreign key row by row: for every row written it runs a query and locks the
row referred to. A worker's batch of 100 twenty-line orders writes some 4,000 lines and as many
allocations, so those checks were most of the ERP's time for a batch (about 0.45 ms of a PO's
2.3 ms; measured with them switched off, 543 against 426 POs/s). The same rules hold here, checked
per statement: after a statement writes child rows, one query locks the distinct rows they refer
to (FOR KEY SHARE, as a foreign key does, so a concurrent delete waits) and refuses the statement
if any is missing; after a statement deletes or changes parent rows, one query refuses it if a
child still refers to a key that is gone. A refusal is a foreign_key_violation, as before.

The constraints stay in the schema: SQLite enforces them (cheaply, in process) and they say what
refers to what. On PostgreSQL `install` drops them and creates the triggers; it is idempotent, so
`hub init` brings an existing ERP database to it.
"""

from __future__ import annotations

from sqlalchemy import Connection, ForeignKeyConstraint, text

from adapters.erp.schema import allocations, sales_order_lines, sales_orders

CHECKED_PER_STATEMENT = (sales_orders, sales_order_lines, allocations)


def install(conn: Connection) -> None:
    """Replace the foreign keys of CHECKED_PER_STATEMENT by per-statement triggers (PostgreSQL
    only). Every worker runs it as it starts: they take turns (an advisory lock), and what is in
    place already is left alone, so the catalog is only written when something changes."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('adapters.erp.statement_keys'))"))
    for table in CHECKED_PER_STATEMENT:
        for key in sorted(table.foreign_key_constraints, key=lambda k: k.column_keys):
            _replace(conn, key)


def _replace(conn: Connection, key: ForeignKeyConstraint) -> None:
    child, parent = key.table.name, key.referred_table.name
    child_columns = list(key.column_keys)
    parent_columns = [element.column.name for element in key.elements]
    name = f"erp_key_{child}_{'_'.join(child_columns)}"
    for (constraint,) in conn.execute(text("SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = CAST(:child AS regclass)"
                                           " AND confrelid = CAST(:parent AS regclass) AND conkey = (SELECT array_agg(attnum ORDER BY n)"
                                           " FROM unnest(CAST(:columns AS text[])) WITH ORDINALITY AS c(column_name, n)"
                                           " JOIN pg_attribute ON attrelid = CAST(:child AS regclass) AND attname = column_name)"),
                                      {"child": child, "parent": parent, "columns": child_columns}):
        conn.execute(text(f'ALTER TABLE {child} DROP CONSTRAINT "{constraint}"'))
    keys = f"SELECT DISTINCT {', '.join(child_columns)} FROM written WHERE {' AND '.join(f'{c} IS NOT NULL' for c in child_columns)}"  # MATCH SIMPLE
    refers = _pairs("p", parent_columns, "r", child_columns)
    _define(conn, f"{name}_written", f"""
        DECLARE missing text;
        BEGIN
            PERFORM 1 FROM {parent} p JOIN ({keys}) r ON {refers} FOR KEY SHARE OF p;
            SELECT row({', '.join(f'r.{c}' for c in child_columns)})::text INTO missing FROM ({keys}) r
             WHERE NOT EXISTS (SELECT 1 FROM {parent} p WHERE {refers}) LIMIT 1;
            IF missing IS NOT NULL THEN
                RAISE EXCEPTION 'insert or update on table "{child}" violates foreign key: key ({', '.join(child_columns)})=% is not present in table "{parent}"',
                    missing USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN NULL;
        END""")
    _define(conn, f"{name}_removed", f"""
        DECLARE referred text;
        BEGIN
            SELECT row({', '.join(f'o.{p}' for p in parent_columns)})::text INTO referred FROM (SELECT DISTINCT {', '.join(parent_columns)} FROM removed) o
             WHERE EXISTS (SELECT 1 FROM {child} r WHERE {_pairs("o", parent_columns, "r", child_columns)})
               AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {_pairs("p", parent_columns, "o", parent_columns)}) LIMIT 1;
            IF referred IS NOT NULL THEN
                RAISE EXCEPTION 'update or delete on table "{parent}" violates foreign key on table "{child}": key ({', '.join(parent_columns)})=% is still referred to',
                    referred USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN NULL;
        END""")
    for event, side, table in (("INSERT", "written", child), ("UPDATE", "written", child), ("DELETE", "removed", parent), ("UPDATE", "removed", parent)):
        trigger = f"{name}_{side}_{event.lower()}"
        if conn.execute(text("SELECT 1 FROM pg_trigger WHERE tgname = :trigger AND tgrelid = CAST(:table AS regclass)"),
                        {"trigger": trigger, "table": table}).first() is None:
            transition = "NEW TABLE AS written" if side == "written" else "OLD TABLE AS removed"
            conn.execute(text(f"CREATE TRIGGER {trigger} AFTER {event} ON {table} REFERENCING {transition} "
                              f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_{side}()"))


def _define(conn: Connection, function: str, body: str) -> None:
    """Create or replace a trigger function, unless it is there with this body already."""
    if conn.execute(text("SELECT prosrc FROM pg_proc WHERE proname = :name"), {"name": function}).scalar() != body:
        conn.execute(text(f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body${body}$body$"))


def _pairs(left: str, left_columns: list[str], right: str, right_columns: list[str]) -> str:
    return " AND ".join(f"{left}.{a} = {right}.{b}" for a, b in zip(left_columns, right_columns))
