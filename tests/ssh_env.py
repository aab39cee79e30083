"""A private sshd on 127.0.0.1 and a private tmux server, for the end-to-end SSH test.

Needs Debian's `openssh-server` (sshd), `openssh-client` (ssh, ssh-keygen) and `tmux`.
Everything lives in one temporary directory (mode 0700): the host key, the client key, the
authorized_keys file, sshd_config, the pid file, sshd's log, tmux's socket and config. Nothing
of the user's own ~/.ssh, known_hosts or tmux server is read or touched.

sshd runs in the foreground as our child (`sshd -D -e`) and the tmux server on its own socket
(`tmux -S`), so stop() ends exactly them: sshd by pid, tmux with `kill-server` on its socket
(which also hangs up every ssh client in its panes), then by the server's pid if needed.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
PROGRAMS = (SSHD, "ssh", "ssh-keygen", "tmux")
PACKAGES = "openssh-server openssh-client tmux"  # apt names


WAIT = 90.0
"""Seconds a wait for the screen, a login or an exit may take: only a real hang reaches it.
A start of sshd + ssh + the app on a busy 2-core machine takes up to ~30 s."""


class SshEnvError(RuntimeError):
    """sshd or tmux could not be started, or the screen never showed what was awaited."""


def missing_programs() -> list[str]:
    """The programs from PROGRAMS that are not installed."""
    return [p for p in PROGRAMS if shutil.which(p) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env() -> dict[str, str]:
    """Our environment without anything that points at a keyring, an agent or a tmux."""
    drop = ("SSH_AUTH_SOCK", "SSH_AGENT_PID", "TMUX", "TMUX_PANE", "DBUS_SESSION_BUS_ADDRESS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["LANG"] = "C.UTF-8"  # tmux reads and prints the panes as UTF-8
    env.pop("LC_ALL", None)
    return env


@dataclass
class SshServer:
    """A running sshd on 127.0.0.1:port that accepts ``key`` for ``user``."""

    root: Path
    port: int
    user: str
    key: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def ssh_argv(self, *command: str) -> list[str]:
        """An ssh client command line (forced tty) that runs ``command`` on this server."""
        return ["ssh", "-F", "/dev/null", "-tt", "-p", str(self.port), "-i", str(self.key),
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30",
                f"{self.user}@127.0.0.1", *command]

    def processes(self) -> str:
        """`ps` lines of what runs under sshd now (for failure messages)."""
        pids = descendants(self.proc.pid)
        if not pids:
            return "(nothing runs under sshd)"
        done = subprocess.run(["ps", "-o", "pid,ppid,stat,etime,wchan:20,args", "-p",
                               ",".join(map(str, pids))], capture_output=True, text=True)
        return done.stdout.rstrip()

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """End the sessions (per-connection sshd and what they run), then sshd itself."""
        if self.proc.poll() is None:
            _end(descendants(self.proc.pid), grace=1.0)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=3)


def start_sshd(root: Path, timeout: float = WAIT) -> SshServer:
    """Keys, config and sshd in ``root``; returns once sshd accepts a login."""
    for p in missing_programs():
        raise SshEnvError(f"{p} not installed (apt-get install {PACKAGES})")
    user = getpass.getuser()
    host_key, key = root / "host_ed25519", root / "id_ed25519"
    for path in (host_key, key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "llm-settings-test",
                        "-f", str(path)], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    authorized = root / "authorized_keys"
    shutil.copyfile(key.with_suffix(".pub"), authorized)
    authorized.chmod(0o600)
    port = _free_port()
    config = root / "sshd_config"
    config.write_text("\n".join([
        f"ListenAddress 127.0.0.1:{port}",
        f"HostKey {host_key}",
        f"PidFile {root / 'sshd.pid'}",
        f"AuthorizedKeysFile {authorized}",
        f"AllowUsers {user}",
        "StrictModes no",
        "UsePAM no",
        "UseDNS no",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitTTY yes",
        "PermitUserEnvironment no",
        "PrintMotd no",
        "PrintLastLog no",
        "X11Forwarding no",
        "AllowAgentForwarding no",
        "AllowTcpForwarding no",
        "LogLevel VERBOSE",
        "",
    ]))
    if os.geteuid() == 0:
        # The privilege separation directory; Debian's init scripts make it at boot.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    log = root / "sshd.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, env=_clean_env())
    server = SshServer(root=root, port=port, user=user, key=key, proc=proc, log=log)
    try:
        _wait_for_login(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_for_login(server: SshServer, timeout: float) -> None:
    """Poll until a real login runs `true` (proves keys, config and the account work)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SshEnvError(f"sshd exited ({server.proc.returncode}): {server.log_text()}")
        argv = [a for a in server.ssh_argv("true") if a != "-tt"]
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              env=_clean_env(), timeout=max(1.0, deadline - time.monotonic()))
        if done.returncode == 0:
            return
        last = done.stderr.decode(errors="replace").strip()
        time.sleep(0.1)
    raise SshEnvError(f"no ssh login within {timeout:g} s: {last}\nsshd log:\n"
                      f"{server.log_text()}")


@dataclass
class Tmux:
    """A private tmux server (own socket, own config) with one fixed-size session."""

    root: Path
    width: int = 80
    height: int = 24
    socket: Path = field(init=False)
    pid: int | None = None  # the tmux server's
    pane_pid: int | None = None  # the pane's process (sh, running ssh)

    def __post_init__(self) -> None:
        self.socket = self.root / "tmux.sock"
        self.status_file = self.root / "exit-status"
        conf = self.root / "tmux.conf"
        # remain-on-exit keeps a finished pane (its last screen) readable.
        conf.write_text("set -g remain-on-exit on\nset -g history-limit 0\n"
                        "set -g status off\nset -g escape-time 0\n")
        self.conf = conf

    def cmd(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(["tmux", "-u", "-S", str(self.socket), "-f", str(self.conf), *args],
                              capture_output=True, text=True, env=_clean_env(), timeout=WAIT,
                              stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise SshEnvError(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, argv: Sequence[str]) -> None:
        """One detached session of width x height running ``argv``.

        argv runs under `sh -c`, which writes its exit status to a file: tmux alone sometimes
        leaves the finished pane's process unreaped (a zombie, #{pane_dead_status} empty).
        """
        self.status_file.unlink(missing_ok=True)
        wrapper = f'"$@"; echo $? > {shlex.quote(str(self.status_file))}'
        self.cmd("new-session", "-d", "-s", "t", "-x", str(self.width), "-y", str(self.height),
                 "sh", "-c", wrapper, "sh", *argv)
        server, pane = self.cmd("display-message", "-p", "-t", "t", "#{pid} #{pane_pid}").split()
        self.pid, self.pane_pid = int(server), int(pane)

    def screen(self) -> str:
        """What the pane shows now, as plain text (one line per row)."""
        return self.cmd("capture-pane", "-p", "-t", "t")

    def send(self, *keys: str) -> None:
        """tmux key names ("C-s", "Enter", "F3", "Tab"), each sent as its own key press."""
        for key in keys:
            self.cmd("send-keys", "-t", "t", key)

    def click(self, x: int, y: int) -> None:
        """A left click on column x, row y (0-based), as an xterm SGR mouse report."""
        report = f"\x1b[<0;{x + 1};{y + 1}"
        self.cmd("send-keys", "-t", "t", "-l", "--", f"{report}M{report}m")

    def cursor(self) -> tuple[int, int]:
        """The terminal cursor (x, y): Textual puts it in the focused Input."""
        x, y = self.cmd("display-message", "-p", "-t", "t", "#{cursor_x} #{cursor_y}").split()
        return int(x), int(y)

    def type(self, text: str) -> None:
        """Literal text, as typed."""
        self.cmd("send-keys", "-t", "t", "-l", "--", text)

    def exit_status(self) -> int | None:
        """argv's exit status once it has exited, else None."""
        try:
            text = self.status_file.read_text()
        except FileNotFoundError:
            return None
        return int(text) if text.endswith("\n") else None  # a complete line: written

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = WAIT,
                 interval: float = 0.05) -> str:
        """Poll the screen until ``check(screen)``; on timeout raise with the last screen."""
        deadline = time.monotonic() + timeout
        text = ""
        while True:
            text = self.screen()
            if check(text):
                return text
            if time.monotonic() > deadline:
                raise SshEnvError(f"timed out after {timeout:g} s waiting for {what}; the "
                                  f"screen:\n{text}")
            time.sleep(interval)

    def wait_exit(self, timeout: float = WAIT) -> int:
        """Wait until argv exits; its exit status."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.exit_status()
            if status is not None:
                return status
            if time.monotonic() > deadline:
                raise SshEnvError(f"the command did not exit within {timeout:g} s; the "
                                  f"screen:\n{self.screen()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """kill-server on our socket (hangs up the pane), then whatever is left, by pid."""
        pids = [p for p in (self.pid, self.pane_pid) if p is not None]
        if self.pane_pid is not None:
            pids += descendants(self.pane_pid)  # ssh under sh
        if self.socket.exists():
            with contextlib.suppress(SshEnvError, subprocess.TimeoutExpired, OSError):
                self.cmd("kill-server", check=False)
        _end(pids)


def _end(pids: Sequence[int], grace: float = 3.0) -> None:
    """Wait up to ``grace`` s for the pids to exit, then SIGTERM them, then SIGKILL them."""
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        left = [p for p in pids if _alive(p)]
        if not left:
            return
        for pid in left if sig is not None else ():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while any(_alive(p) for p in left) and time.monotonic() < deadline:
            time.sleep(0.05)


def descendants(pid: int) -> list[int]:
    """Every live process below pid (children first), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    """pid runs (a zombie, exited but not yet reaped by its parent, does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] not in ("Z", "X")
