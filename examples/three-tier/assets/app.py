"""The three-tier example's application cell: rows in PostgreSQL over HTTP.

  POST /api/rows      the request body (one line of text) becomes a row; answers its id
  GET  /api/rows      every row, "id<TAB>body" per line, in id order
  GET  /api/health    200 once the database answers
It also keeps /srv/webroot/index.html (the webroot volume, served read-only by the edge)
up to date with the row count, so the static tier shows the app's writes.
"""
import http.server
import os
import sys
import threading
import time

import psycopg2

DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
WEBROOT = "/srv/webroot"
local = threading.local()
page_lock = threading.Lock()


def connection():
    # One connection per handler thread: a psycopg2 connection is not shared between threads.
    conn = getattr(local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg2.connect(DSN)
        conn.autocommit = True
        local.conn = conn
    return conn


def query(sql, args=()):
    try:
        cur = connection().cursor()
        cur.execute(sql, args)
    except psycopg2.OperationalError:
        local.conn = None  # the database restarted: reconnect once
        cur = connection().cursor()
        cur.execute(sql, args)
    return cur.fetchall() if cur.description else []


def write_page(count):
    # Written beside the target and renamed over it, so the edge never serves half a page.
    tmp = os.path.join(WEBROOT, ".index.html.tmp")
    with open(tmp, "w") as f:
        f.write("<!doctype html>\n<title>three-tier</title>\n"
                "<p>rows stored: %d</p>\n<p>API: <a href=\"/api/rows\">/api/rows</a></p>\n" % count)
    os.replace(tmp, os.path.join(WEBROOT, "index.html"))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        try:
            if self.path == "/api/health":
                query("select 1")
                return self.reply(200, "ok\n")
            if self.path == "/api/rows":
                rows = query("select id, body from rows order by id")
                return self.reply(200, "".join("%d\t%s\n" % r for r in rows))
            return self.reply(404, "no such path: %s\n" % self.path)
        except psycopg2.Error as e:
            return self.reply(503, "database: %s\n" % str(e).strip())

    def do_POST(self):
        if self.path != "/api/rows":
            return self.reply(404, "no such path: %s\n" % self.path)
        length = int(self.headers.get("Content-Length") or 0)
        text = self.rfile.read(length).decode("utf-8", "replace").strip()
        if not text or "\n" in text or len(text) > 1000:
            return self.reply(400, "a row is one line of 1..1000 characters\n")
        try:
            (row_id, count), = query(
                "with i as (insert into rows (body) values (%s) returning id) "
                "select i.id, (select count(*) from rows) + 1 from i", (text,))
        except psycopg2.Error as e:
            return self.reply(503, "database: %s\n" % str(e).strip())
        with page_lock:
            write_page(count)
        return self.reply(201, "%d\n" % row_id)

    def log_message(self, fmt, *args):
        pass  # one line per request would flood syslog; errors are in the replies


def main():
    # The database may still be starting (apply starts db first, but a restart of db alone is
    # possible): wait for it rather than crash-looping the supervisor.
    for attempt in range(60):
        try:
            query("create table if not exists rows (id bigserial primary key, body text not null)")
            (count,), = query("select count(*) from rows")
            break
        except psycopg2.Error as e:
            print("waiting for the database: %s" % str(e).strip(), file=sys.stderr, flush=True)
            time.sleep(1)
    else:
        sys.exit("the database did not answer in 60 s")
    write_page(count)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 8000), Handler)
    print("serving on 127.0.0.1:8000 with %d rows" % count, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
