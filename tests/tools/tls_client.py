#!/usr/bin/env python3
"""tls_client.py - TLS clients the integration test needs that curl and
openssl s_client are not made for (tests/integration/test_tls.sh).

  tls_client.py keepalive HOST PORT NAME CAFILE FLAGFILE
      One TLS connection (SNI NAME, verified against CAFILE): GET /, then
      wait until FLAGFILE exists (the test reloads meanwhile), then GET /
      again on the same connection.  Prints "first STATUS", "second STATUS"
      and the certificate's SHA-256 at the start.
  tls_client.py hold HOST PORT N SECONDS
      N TLS keep-alive connections (no verification: a memory bench),
      one GET / on each, then all held idle: prints "ready N" once every
      one has had its answer, "held N closed K" after SECONDS.
  tls_client.py halfopen HOST PORT N SECONDS
      N connections that each send the first 51 bytes of a ClientHello
      claiming 512, then nothing.  Prints "open N", then after SECONDS the
      number the server has closed: "closed K".
  tls_client.py burst HOST PORT N
      N connections that each send a whole ClientHello at once (prints
      "sent N": the test may have stopped the server, so that they wait in
      its backlog together), then, one after the other, finish the
      handshake (no verification) and GET /: prints "answered K", K the
      200 answers.
"""
import hashlib
import os
import resource
import socket
import ssl
import sys
import time


def get(sock, name):
    sock.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return head.split(b" ")[1].decode()


def keepalive(host, port, name, cafile, flag):
    ctx = ssl.create_default_context(cafile=cafile)
    with socket.create_connection((host, int(port)), timeout=20) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as s:
            der = s.getpeercert(binary_form=True)
            print("cert", hashlib.sha256(der).hexdigest(), flush=True)
            print("first", get(s, name), flush=True)
            deadline = time.time() + 20
            while not os.path.exists(flag) and time.time() < deadline:
                time.sleep(0.05)
            print("second", get(s, name), flush=True)


def halfopen(host, port, n, seconds):
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
    part = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]) + bytes(40)
    socks = []
    for _ in range(int(n)):
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(part)
        socks.append(s)
    print("open", len(socks), flush=True)
    time.sleep(float(seconds))
    closed = 0
    for s in socks:
        s.settimeout(0.01)
        try:
            if s.recv(1) == b"":
                closed += 1
        except socket.timeout:
            pass
        except OSError:
            closed += 1
        s.close()
    print("closed", closed, flush=True)


def burst(host, port, n):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conns = []
    for _ in range(n):
        s = socket.create_connection((host, int(port)), timeout=30)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname="a.test")
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        s.sendall(out.read())  # the ClientHello
        conns.append((s, inc, out, obj))
    print("sent", len(conns), flush=True)
    answered = 0
    for s, inc, out, obj in conns:
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                if out.pending:
                    s.sendall(out.read())
                data = s.recv(16384)
                if not data:
                    break
                inc.write(data)
        obj.write(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        s.sendall(out.read())  # Finished and the request
        got = b""
        while b"\r\n" not in got:
            try:
                got += obj.read(4096)
            except ssl.SSLWantReadError:
                data = s.recv(16384)
                if not data:
                    break
                inc.write(data)
            except ssl.SSLError:
                break
        answered += got.startswith(b"HTTP/1.1 200")
        s.close()
    print("answered", answered, flush=True)


def hold(host, port, n, seconds):
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    socks = []
    for _ in range(n):
        raw = socket.create_connection((host, int(port)), timeout=20)
        s = ctx.wrap_socket(raw, server_hostname="a.test")
        if get(s, "a.test") != "200":
            sys.exit("bad answer")
        socks.append(s)
    print("ready", len(socks), flush=True)
    time.sleep(float(seconds))
    closed = 0
    for s in socks:
        s.settimeout(0.001)
        try:
            if s.recv(1) == b"":
                closed += 1
        except (socket.timeout, ssl.SSLWantReadError):
            pass
        except OSError:
            closed += 1
    print("held", len(socks), "closed", closed, flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "keepalive":
        keepalive(*sys.argv[2:7])
    elif sys.argv[1] == "hold":
        hold(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif sys.argv[1] == "burst":
        burst(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "halfopen":
        halfopen(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(__doc__)
