"""The isolation tour's probe: run as root inside a cell, it tries one thing per check and
prints "<check> allowed" or "<check> denied:<ERRNO>".

Arguments: host_pid=N (a host process, invisible from a cell), own_port=N (this cell's reserved
port), other_port=N (another cell's reserved port), free_port=N (a port nobody reserved).
Everything it manages to do is undone at once (the socket closed, the file removed, the tmpfs
unmounted), and everything it does stays inside the cell's own namespaces.
"""
import ctypes
import errno
import os
import socket
import sys

libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
SYS_BPF = 321  # x86_64
BPF_MAP_CREATE = 0
CLONE_NEWNS = 0x00020000
SYSLOG_ACTION_READ_ALL = 3


def c_call(rc):
    """errno of a libc call that returns -1 on failure, 0 when it succeeded."""
    return ctypes.get_errno() if rc == -1 else 0


def os_call(fn):
    try:
        fn()
        return 0
    except OSError as e:
        return e.errno


def bind(port):
    def attempt():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", port))
    return os_call(attempt)


def ptrace_host(pid):
    err = c_call(libc.ptrace(PTRACE_ATTACH, pid, None, None))
    if err == 0:
        libc.ptrace(PTRACE_DETACH, pid, None, None)
    return err


def write_outside():
    path = "/etc/tour-probe"  # the cell's own /etc: not one of high's writable paths
    def attempt():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.close(fd)
        os.unlink(path)
    return os_call(attempt)


def mount_tmpfs():
    target = "/tmp/tour-mnt"
    os.makedirs(target, exist_ok=True)
    err = c_call(libc.mount(b"tour", target.encode(), b"tmpfs", 0, None))
    if err == 0:
        libc.umount2(target.encode(), 0)
    os.rmdir(target)
    return err


def raw_socket():
    return os_call(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close())


def bpf():
    # A NULL attribute: an allowed call fails in the kernel with EFAULT/EINVAL, a denied one
    # with EPERM before the kernel looks at it.
    return c_call(libc.syscall(SYS_BPF, BPF_MAP_CREATE, None, 0))


def read_kernel_log():
    buf = ctypes.create_string_buffer(4096)
    rc = libc.klogctl(SYSLOG_ACTION_READ_ALL, buf, len(buf))
    return ctypes.get_errno() if rc < 0 else 0


def unshare_mount_ns():
    # Done in a child, so the probe's own process keeps its namespaces whatever happens.
    pid = os.fork()
    if pid == 0:
        os._exit(c_call(libc.unshare(CLONE_NEWNS)))
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def root_is_host_root():
    # uid_map "0 0 4294967295" means the cell's root is the host's root; a high cell maps it
    # to an unprivileged host uid.
    with open("/proc/self/uid_map") as f:
        inside, outside, _ = f.readline().split()
    return 0 if (inside, outside) == ("0", "0") else errno.EPERM


def main():
    args = dict(a.split("=", 1) for a in sys.argv[1:])
    host_pid = int(args["host_pid"])
    checks = [
        ("see_host_process", lambda: os_call(lambda: os.stat("/proc/%d" % host_pid))),
        ("signal_host_process", lambda: os_call(lambda: os.kill(host_pid, 0))),
        ("ptrace_host_process", lambda: ptrace_host(host_pid)),
        ("bind_own_port", lambda: bind(int(args["own_port"]))),
        ("bind_other_cells_port", lambda: bind(int(args["other_port"]))),
        ("bind_unreserved_port", lambda: bind(int(args["free_port"]))),
        ("load_bpf_program", bpf),
        ("read_kernel_log", read_kernel_log),
        ("unshare_namespace", unshare_mount_ns),
        ("mount_tmpfs", mount_tmpfs),
        ("open_raw_socket", raw_socket),
        ("root_is_host_root", root_is_host_root),
        ("write_outside_writable", write_outside),
    ]
    for name, check in checks:
        err = check()
        # EFAULT/EINVAL: the call reached the kernel proper, i.e. nothing stopped it.
        allowed = err in (0, errno.EFAULT, errno.EINVAL)
        print("%s %s" % (name, "allowed" if allowed else "denied:" + errno.errorcode.get(err, str(err))))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
