#!/usr/bin/env python3
"""qmp-agent.py - run QMP commands for the test guest, log QMP events.

Usage: test/qemu/qmp-agent.py LOGDIR [MAX_SECONDS]

Started by test/qemu/boot-guest.sh next to QEMU for boots with the `qmp` key
(test/guest/boots). Standard library only (no QMP library in bookworm).

  - connects to LOGDIR/qmp.sock (QEMU's -qmp server, retried for 20 s),
    reads the greeting, negotiates with qmp_capabilities;
  - appends every QMP event, with the host's time, to LOGDIR/qmp-events.log
    ("<epoch seconds> <event> <data json>");
  - follows LOGDIR/ktap.log (the guest's ttyS1, a file QEMU writes) for
    request lines "# host: SEQ VERB ARGS..." and answers each on
    LOGDIR/host.sock (QEMU's chardev socket server, the guest's ttyS2) with
    one line "reply SEQ ok JSON", "reply SEQ error JSON", "reply SEQ timeout"
    or "reply SEQ bad MESSAGE". Requests and replies also go to
    LOGDIR/qmp-agent.log.

Verbs:
  device_add DRIVER,key=val,...     QMP device_add (values stay strings,
                                    except true/false/on/off for booleans)
  device_del ID                     QMP device_del
  wait_event EVENT [ID] [SECONDS]   the first QMP EVENT (whose data.device
                                    is ID, if given) not yet consumed by an
                                    earlier wait_event, seen at any time since
                                    the agent connected; waits up to SECONDS
                                    (default 20, at most 120), then "timeout"
  event_count EVENT [ID]            how many such events were seen so far
                                    (consumed or not), at once
  qmp JSON                          any QMP command object, as is

Every wait is bounded: the agent exits when QEMU closes the QMP socket or
after MAX_SECONDS (default 900).
"""
import json
import os
import select
import socket
import sys
import time

MAX_WAIT = 120.0


def log(f, msg):
    f.write("%.6f %s\n" % (time.time(), msg))
    f.flush()


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def parse_props(spec):
    parts = spec.split(",")
    args = {"driver": parts[0]}
    for p in parts[1:]:
        if not p:
            continue
        k, _, v = p.partition("=")
        if v in ("true", "on"):
            args[k] = True
        elif v in ("false", "off"):
            args[k] = False
        else:
            args[k] = v
    return args


class Agent:
    def __init__(self, logdir, max_seconds):
        self.logdir = logdir
        self.end = time.time() + max_seconds
        self.alog = open(os.path.join(logdir, "qmp-agent.log"), "a")
        self.elog = open(os.path.join(logdir, "qmp-events.log"), "a")
        self.events = []        # [name, data, consumed]
        self.waits = []         # [seq, name, id, deadline]
        self.qbuf = b""
        self.pending_cmd = {}   # qmp id -> seq
        self.next_id = 0
        self.ktap_pos = 0
        self.ktap_buf = b""

        deadline = time.time() + 20
        self.qmp = connect(os.path.join(logdir, "qmp.sock"), deadline)
        self.host = connect(os.path.join(logdir, "host.sock"), deadline)
        self.host.setblocking(False)
        greeting = self.read_qmp_blocking()
        log(self.alog, "greeting %s" % json.dumps(greeting))
        self.send_qmp({"execute": "qmp_capabilities", "id": "caps"})
        while True:
            msg = self.read_qmp_blocking()
            if msg.get("id") == "caps":
                log(self.alog, "capabilities %s" % json.dumps(msg))
                break
            self.handle_qmp(msg)

    # --- QMP -----------------------------------------------------------
    def send_qmp(self, obj):
        self.qmp.sendall((json.dumps(obj) + "\n").encode())

    def read_qmp_blocking(self):
        while b"\n" not in self.qbuf:
            r, _, _ = select.select([self.qmp], [], [], 10)
            if not r:
                raise TimeoutError("no QMP answer in 10 s")
            data = self.qmp.recv(65536)
            if not data:
                raise EOFError("QMP closed")
            self.qbuf += data
        line, self.qbuf = self.qbuf.split(b"\n", 1)
        return json.loads(line)

    def handle_qmp(self, msg):
        if "event" in msg:
            name = msg["event"]
            data = msg.get("data", {})
            ts = msg.get("timestamp", {})
            self.elog.write("%.6f %s %s (qemu %d.%06d)\n" % (
                time.time(), name, json.dumps(data, sort_keys=True),
                ts.get("seconds", 0), ts.get("microseconds", 0)))
            self.elog.flush()
            self.events.append([name, data, False])
            return
        qid = msg.get("id")
        seq = self.pending_cmd.pop(qid, None)
        if seq is None:
            log(self.alog, "unexpected %s" % json.dumps(msg))
            return
        if "error" in msg:
            self.reply(seq, "error", json.dumps(msg["error"], sort_keys=True))
        else:
            self.reply(seq, "ok", json.dumps(msg.get("return", {}), sort_keys=True))

    def execute(self, seq, cmd, args=None):
        self.next_id += 1
        qid = "r%d" % self.next_id
        obj = {"execute": cmd, "id": qid}
        if args is not None:
            obj["arguments"] = args
        self.pending_cmd[qid] = seq
        log(self.alog, "qmp %s" % json.dumps(obj))
        self.send_qmp(obj)

    # --- guest side ------------------------------------------------------
    def reply(self, seq, status, rest=""):
        line = "reply %s %s%s" % (seq, status, " " + rest if rest else "")
        log(self.alog, line)
        data = (line.replace("\n", " ") + "\n").encode()
        try:
            self.host.setblocking(True)
            self.host.settimeout(5)
            self.host.sendall(data)
        except OSError as e:
            log(self.alog, "reply not sent: %s" % e)
        finally:
            self.host.setblocking(False)

    def match(self, ev, name, dev):
        return ev[0] == name and (dev is None or ev[1].get("device") == dev)

    def try_wait(self, w):
        seq, name, dev, _ = w
        for ev in self.events:
            if not ev[2] and self.match(ev, name, dev):
                ev[2] = True
                self.reply(seq, "ok", json.dumps(ev[1], sort_keys=True))
                return True
        return False

    def request(self, line):
        log(self.alog, "request %s" % line)
        words = line.split()
        if len(words) < 2:
            log(self.alog, "malformed request")
            return
        seq, verb, args = words[0], words[1], words[2:]
        try:
            if verb == "device_add" and len(args) == 1:
                self.execute(seq, "device_add", parse_props(args[0]))
            elif verb == "device_del" and len(args) == 1:
                self.execute(seq, "device_del", {"id": args[0]})
            elif verb == "wait_event" and 1 <= len(args) <= 3:
                dev = args[1] if len(args) > 1 and args[1] != "-" else None
                secs = min(float(args[2]), MAX_WAIT) if len(args) > 2 else 20.0
                w = [seq, args[0], dev, time.time() + secs]
                if not self.try_wait(w):
                    self.waits.append(w)
            elif verb == "event_count" and 1 <= len(args) <= 2:
                dev = args[1] if len(args) > 1 else None
                n = sum(1 for ev in self.events if self.match(ev, args[0], dev))
                self.reply(seq, "ok", str(n))
            elif verb == "qmp" and args:
                obj = json.loads(" ".join(args))
                self.execute(seq, obj["execute"], obj.get("arguments"))
            else:
                self.reply(seq, "bad", "unknown verb or arguments: %s" % line)
        except (ValueError, KeyError) as e:
            self.reply(seq, "bad", "%s: %s" % (type(e).__name__, e))

    def poll_ktap(self):
        path = os.path.join(self.logdir, "ktap.log")
        try:
            with open(path, "rb") as f:
                f.seek(self.ktap_pos)
                data = f.read()
        except OSError:
            return
        self.ktap_pos += len(data)
        self.ktap_buf += data
        while b"\n" in self.ktap_buf:
            raw, self.ktap_buf = self.ktap_buf.split(b"\n", 1)
            line = raw.decode(errors="replace").strip("\r\n ")
            if line.startswith("# host: "):
                self.request(line[len("# host: "):])

    def run(self):
        while time.time() < self.end:
            r, _, _ = select.select([self.qmp, self.host], [], [], 0.05)
            if self.host in r:
                try:
                    if not self.host.recv(4096):   # guest echo, ignored
                        log(self.alog, "host.sock closed")
                        return
                except BlockingIOError:
                    pass
            if self.qmp in r:
                data = self.qmp.recv(65536)
                if not data:
                    log(self.alog, "QMP closed: QEMU exited")
                    return
                self.qbuf += data
                while b"\n" in self.qbuf:
                    line, self.qbuf = self.qbuf.split(b"\n", 1)
                    if line.strip():
                        self.handle_qmp(json.loads(line))
            self.poll_ktap()
            now = time.time()
            for w in list(self.waits):
                if self.try_wait(w):
                    self.waits.remove(w)
                elif now > w[3]:
                    self.waits.remove(w)
                    self.reply(w[0], "timeout")
        log(self.alog, "MAX_SECONDS reached")


def main():
    if len(sys.argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    max_seconds = float(sys.argv[2]) if len(sys.argv) == 3 else 900
    try:
        agent = Agent(sys.argv[1], max_seconds)
        agent.run()
    except (OSError, EOFError, TimeoutError, ValueError) as e:
        with open(os.path.join(sys.argv[1], "qmp-agent.log"), "a") as f:
            log(f, "agent stopped: %s: %s" % (type(e).__name__, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
