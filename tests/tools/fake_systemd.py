#!/usr/bin/env python3
"""fake_systemd.py - stands in for systemd (PID 1 of the CI machine is not
systemd) for one Type=notify service, enough to test `systemctl restart
andromeda` through the file descriptor store (test_restart.sh):

  serve DIR -- PROGRAM ARGS...   run PROGRAM as the unit's main process;
                                 DIR/notify is its NOTIFY_SOCKET, DIR/ctl
                                 takes the commands below
  ctl DIR COMMAND                send a command, print the answer:
      restart   the restart job of andromeda.service: ExecStop=PROGRAM
                --stop --job restart ARGS (MAINPID set), wait for the
                main process, ExecStopPost=PROGRAM --release ARGS, then
                ExecStartPre=PROGRAM -t ARGS and the start with the store
                as LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID; "ok PID" once
                READY=1 came, else "failed WHY"
      stop      the same with --job stop, then SIGTERM (KillMode=mixed)
      pid       the main process
      store     the names in the fd store, one per descriptor

What it keeps of sd_notify(3): READY=1, MAINPID=, FDSTORE=1 with FDNAME=
(the descriptors are kept, and dropped on POLLHUP or POLLERR unless
FDPOLL=0 came with them, as systemd does), FDSTOREREMOVE=1 with FDNAME=, BARRIER=1 (the
descriptor is closed once the datagrams before it were read).  No
FileDescriptorStoreMax: the test's stores are small.  Only the job type
comes from real systemd in production; this passes it with --job.
FAKE_SYSTEMD_START_DELAY_MS=N waits N ms between the stop and the start."""
import array
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

SD_LISTEN_FDS_START = 3


class Unit:
    def __init__(self, d, argv):
        self.dir = d
        self.argv = argv  # PROGRAM ARGS...
        self.lock = threading.Condition()
        self.store = []  # (name, fd)
        self.main = 0
        self.ready = False
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        path = os.path.join(d, "notify")
        if os.path.exists(path):
            os.unlink(path)
        self.notify.bind(path)
        self.notify_path = path

    def log(self, msg):
        print("fake_systemd: " + msg, file=sys.stderr, flush=True)

    # ---- the notification socket ----
    def drop_hung_up(self):
        """systemd drops a stored descriptor that reports POLLHUP or POLLERR,
        unless it came with FDPOLL=0."""
        with self.lock:
            keep = []
            for name, fd, polled in self.store:
                if polled:
                    p = select.poll()
                    p.register(fd, 0)
                    if any(ev & (select.POLLHUP | select.POLLERR) for _, ev in p.poll(0)):
                        self.log("dropped %s descriptor %d: POLLHUP/POLLERR" % (name, fd))
                        os.close(fd)
                        continue
                keep.append((name, fd, polled))
            self.store = keep

    def notify_loop(self):
        fdsize = array.array("i").itemsize
        p = select.poll()
        p.register(self.notify, select.POLLIN)
        while True:
            if not p.poll(20):
                self.drop_hung_up()
                continue
            msg, anc, _, _ = self.notify.recvmsg(4096, socket.CMSG_SPACE(253 * fdsize))
            fds = array.array("i")
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(data[: len(data) - (len(data) % fdsize)])
            self.handle(msg.decode(errors="replace"), list(fds))

    def handle(self, text, fds):
        kv = dict(line.split("=", 1) for line in text.split("\n") if "=" in line)
        with self.lock:
            if kv.get("BARRIER") == "1":
                for fd in fds:
                    os.close(fd)  # everything before it was read
                return
            if kv.get("FDSTORE") == "1":
                name = kv.get("FDNAME", "stored")
                polled = kv.get("FDPOLL") != "0"
                self.store += [(name, fd, polled) for fd in fds]
                fds = []
            if kv.get("FDSTOREREMOVE") == "1":
                name = kv.get("FDNAME", "")
                for n, fd, _ in self.store:
                    if n == name:
                        os.close(fd)
                self.store = [e for e in self.store if e[0] != name]
            if "MAINPID" in kv:
                self.main = int(kv["MAINPID"])
            if kv.get("READY") == "1":
                self.ready = True
            for fd in fds:
                os.close(fd)  # descriptors without FDSTORE=1
            self.lock.notify_all()

    # ---- the process ----
    def spawn(self):
        self.drop_hung_up()
        with self.lock:
            stored = [(n, fd) for n, fd, _ in self.store]
            self.ready = False
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path)
        pid = os.fork()
        if pid == 0:
            try:
                # Out of the way first, then 3, 4, ... in order (sd_listen_fds).
                high = [os.dup(fd) for _, fd in stored]
                high = [os.dup2(fd, 900 + i) or 900 + i for i, fd in enumerate(high)]
                for i, fd in enumerate(high):
                    os.dup2(fd, SD_LISTEN_FDS_START + i)
                os.closerange(SD_LISTEN_FDS_START + len(stored), 4096)
                if stored:
                    env["LISTEN_FDS"] = str(len(stored))
                    env["LISTEN_FDNAMES"] = ":".join(n for n, _ in stored)
                    env["LISTEN_PID"] = str(os.getpid())
                os.execve(self.argv[0], self.argv, env)
            finally:
                os._exit(127)
        with self.lock:
            self.main = pid
        self.log("started %s as %d with %d stored descriptor(s)" % (self.argv[0], pid, len(stored)))
        return pid

    def wait_ready(self, pid, seconds):
        end = time.monotonic() + seconds
        with self.lock:
            while not self.ready:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(min(left, 0.05))
                try:
                    if os.waitpid(pid, os.WNOHANG)[0] == pid:
                        return False  # exited before READY=1
                except ChildProcessError:
                    return False
        return True

    def run(self, extra, env=None):
        cmd = [self.argv[0]] + extra + self.argv[1:]
        return subprocess.run(cmd, env=env, stdout=sys.stderr, stderr=sys.stderr).returncode

    def reap(self, pid, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return True
            except ChildProcessError:
                return True
            time.sleep(0.005)
        return False

    def stop(self, job):
        pid = self.main
        env = dict(os.environ, MAINPID=str(pid))
        stop = subprocess.Popen([self.argv[0], "--stop", "--job", job] + self.argv[1:],
                                env=env, stdout=sys.stderr, stderr=sys.stderr)
        # The main process is reaped while ExecStop waits for it (systemd
        # does the same: ExecStop's wait ends when the pid is gone).
        while stop.poll() is None:
            if self.reap(pid, 0.01):
                break
        stop.wait()
        if not self.reap(pid, 0.01):
            os.kill(pid, signal.SIGTERM)  # KillMode=mixed: the main process
            if not self.reap(pid, 20):
                os.kill(pid, signal.SIGKILL)
                self.reap(pid, 5)
        self.run(["--release"])  # ExecStopPost

    def command(self, cmd):
        if cmd == "pid":
            return str(self.main)
        if cmd == "store":
            with self.lock:
                return " ".join(e[0] for e in self.store)
        if cmd == "stop":
            self.stop("stop")
            return "ok"
        if cmd == "restart":
            self.stop("restart")
            # A slow start (certificates on a Pi): longer than the peers'
            # Master_Down_Interval, so that only their hold keeps them back.
            time.sleep(int(os.environ.get("FAKE_SYSTEMD_START_DELAY_MS", "0")) / 1000)
            if self.run(["-t"]) != 0:  # ExecStartPre
                self.run(["--release"])  # a failed start runs ExecStopPost
                return "failed ExecStartPre"
            pid = self.spawn()
            if not self.wait_ready(pid, 30):
                self.run(["--release"])
                return "failed no READY=1"
            return "ok %d" % pid
        return "unknown command"


def serve(d, argv):
    unit = Unit(d, argv)
    threading.Thread(target=unit.notify_loop, daemon=True).start()
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = os.path.join(d, "ctl")
    if os.path.exists(path):
        os.unlink(path)
    ctl.bind(path)
    ctl.listen(4)
    signal.signal(signal.SIGTERM, lambda *_: (unit.stop("stop"), os._exit(0)))
    pid = unit.spawn()
    if not unit.wait_ready(pid, 30):
        unit.log("the first start failed")
    while True:
        conn, _ = ctl.accept()
        with conn:
            cmd = conn.recv(256).decode().strip()
            unit.log("command: " + cmd)
            conn.sendall((unit.command(cmd) + "\n").encode())
            if cmd == "stop":
                os._exit(0)


def ctl(d, cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(d, "ctl"))
    s.sendall((cmd + "\n").encode())
    out = b""
    while not out.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        out += chunk
    print(out.decode().strip())
    return 0 if out.startswith(b"ok") or cmd in ("pid", "store") else 1


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "serve" and a[2] == "--":
        serve(a[1], a[3:])
    elif len(a) == 3 and a[0] == "ctl":
        sys.exit(ctl(a[1], a[2]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
