"""2. Supervised service start: from `cellmgr cell start` until the service accepts TCP, then
`cellmgr cell stop` (not timed). Peers start the same server (busybox httpd) in bwrap and in
systemd-nspawn and are timed the same way, from spawn until a TCP connect succeeds; the bare
server on the host is recorded as the floor."""
import os
import shutil
import signal
import subprocess
import time

from common import BenchError, ScratchRoot, free_port, sh, wait_tcp


def wait_closed(port, timeout=10):
    import socket
    t0 = time.time()
    while time.time() - t0 < timeout:
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            return
        finally:
            s.close()
        time.sleep(0.01)
    raise BenchError(f"port {port} still accepting {timeout} s after stop")


def time_popen(argv, port):
    """Spawns argv, returns seconds until port accepts, then kills the process group."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        wait_tcp(port, 20)
        return time.perf_counter() - t0
    finally:
        # SIGTERM first: nspawn forwards it as SIGKILL to the container's PID 1, which lives
        # in another pid namespace and is out of reach of killpg.
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        wait_closed(port)


def nspawn_root(scratch):
    root = os.path.join(scratch, "nspawn-root")
    os.makedirs(os.path.join(root, "bin"))
    os.makedirs(os.path.join(root, "usr/lib"))
    os.makedirs(os.path.join(root, "etc"))
    shutil.copy("/bin/busybox", os.path.join(root, "bin/busybox"))
    for f in ("usr/lib/os-release", "etc/os-release"):
        with open(os.path.join(root, f), "w") as o:
            o.write("ID=busybox\n")
    return root


def run(ctx):
    reps = 5 if ctx.quick else 20
    profiles = ("medium", "high")
    sr = ScratchRoot(ctx, "service")
    try:
        sr.bootstrap()
        ports = {}
        for prof in profiles:
            port = free_port()
            ports[prof] = port
            sr.cellmgr("cell", "create", f"svc-{prof}", "--profile", prof, "--reserved-ports",
                       str(port), "--cmd", f"busybox httpd -f -p {port} -h /")
        nsroot = nspawn_root(sr.dir)
        cells = {p: [] for p in profiles}
        peers = {"bwrap": [], "nspawn": []}
        host = []
        for i in range(reps):
            # Rotate the order each round so drift in the machine's load hits every side alike.
            steps = []
            for prof in profiles:
                def cell_step(prof=prof):
                    port = ports[prof]
                    t0 = time.perf_counter()
                    sr.cellmgr("cell", "start", f"svc-{prof}")
                    wait_tcp(port, 20)
                    cells[prof].append((time.perf_counter() - t0) * 1000)
                    sr.cellmgr("cell", "stop", f"svc-{prof}")
                    wait_closed(port)
                steps.append(cell_step)
            port = free_port()
            steps.append(lambda: peers["bwrap"].append(1000 * time_popen(
                ["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--share-net", "--die-with-parent",
                 "busybox", "httpd", "-f", "-p", str(port), "-h", "/"], port)))
            steps.append(lambda: peers["nspawn"].append(1000 * time_popen(
                ["systemd-nspawn", "--register=no", "--keep-unit", "-q", "-D", nsroot,
                 "/bin/busybox", "httpd", "-f", "-p", str(port), "-h", "/"], port)))
            steps.append(lambda: host.append(1000 * time_popen(
                ["busybox", "httpd", "-f", "-p", str(port), "-h", "/"], port)))
            k = i % len(steps)
            for step in steps[k:] + steps[:k]:
                step()
        for prof in profiles:
            ctx.metric("service", f"service-start-{prof}",
                       f"supervised service start to TCP accept, {prof}", "ms", cells[prof], peers,
                       ratio_goal=1.0, refs={"host, no isolation": host},
                       detail="cellmgr cell start (journaled, supervisor, init, policy) + httpd bind")
    finally:
        sr.close()
