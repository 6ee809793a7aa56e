"""Unit test of the enforcement-overhead workload binary: every mode does its work and prints
"<mode> <ns/op>", and every bad input gets exit status 2 and a one-line error naming what is
wrong (nothing is timed here).

  python3 bench/overhead/workload_test.py PATH_TO_cells-bench-workload"""
import socket
import struct
import subprocess
import sys
import tempfile
import os
import unittest

BINARY = None


def run(*args):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=60)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Workload(unittest.TestCase):
    def check_ok(self, r, mode):
        self.assertEqual(r.returncode, 0, r.stderr)
        name, wall, cpu = r.stdout.split()
        self.assertEqual(name, mode)
        self.assertGreater(float(wall), 0)
        self.assertGreater(float(cpu), 0)

    def test_getpid(self):
        self.check_ok(run("getpid", "1000"), "getpid")

    def test_files_leaves_nothing_behind(self):
        with tempfile.TemporaryDirectory() as d:
            self.check_ok(run("files", "200", d), "files")
            self.assertEqual(os.listdir(d), [])

    def test_tcp_echo(self):
        self.check_ok(run("tcp", "200", str(free_port())), "tcp")

    def test_is_static(self):
        # It has to run inside a cell root without the host's shared libraries: no PT_INTERP
        # (program loader) in its ELF program headers.
        with open(BINARY, "rb") as f:
            head = f.read(64)
            self.assertEqual(head[:5], b"\x7fELF\x02")  # 64-bit ELF
            phoff, = struct.unpack_from("<Q", head, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
        types = [struct.unpack_from("<I", table, i * phentsize)[0] for i in range(phnum)]
        self.assertNotIn(3, types, "the workload has a program interpreter (not static)")

    def check_bad(self, args, message):
        r = run(*args)
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertEqual(r.stdout, "")
        self.assertIn(message, r.stderr.splitlines()[0])

    def test_bad_inputs(self):
        self.check_bad([], "missing arguments")
        self.check_bad(["getpid", "ten"], "N must be a positive integer, got 'ten'")
        self.check_bad(["getpid", "0"], "N must be a positive integer, got '0'")
        self.check_bad(["getpid", "5x"], "N must be a positive integer, got '5x'")
        self.check_bad(["forkbomb", "5"], "unknown mode or wrong argument count: 'forkbomb'")
        self.check_bad(["files", "5"], "unknown mode or wrong argument count: 'files'")
        self.check_bad(["tcp", "5", "70000"], "PORT must be at most 65535")

    def test_unwritable_directory_fails_with_errno(self):
        r = run("files", "5", "/nonexistent-dir")
        self.assertEqual(r.returncode, 1)
        self.assertIn("open /nonexistent-dir/cells-bench-workload.", r.stderr)
        self.assertIn("No such file or directory", r.stderr)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main()
