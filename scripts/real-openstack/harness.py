#!/usr/bin/env python3
"""Real OpenStack on loopback for stackform's acceptance tests.

Installs, configures, starts, bootstraps and stops MariaDB, RabbitMQ,
Keystone, Glance, Neutron, Placement and Nova (fake compute driver), all
from PyPI and Debian, all listening on 127.0.0.1 only, with every byte of
state under one data directory (default <repo>/target/real-openstack,
overridden by STACKFORM_REAL_OPENSTACK_DIR).

    harness.py install           apt packages, virtualenv, configuration,
                                 databases and migrations (idempotent)
    harness.py start             start everything, bootstrap the catalog,
                                 users and fixtures, wait until a server
                                 can be scheduled
    harness.py stop              stop what `start` started, nothing else
    harness.py status            what runs, with its memory
    harness.py env               the OS_CLIENT_CONFIG_FILE=... line
    harness.py run-clouds CMD..  run CMD with that variable set and the
                                 virtualenv's bin (openstack) on PATH
    harness.py check             boot servers on both clouds and try the
                                 Nova actions stackform uses; prints what
                                 each one did and how long it took

Standard library only; runs with the machine's python3. See README.md
beside this file for ports, clouds, timings and how a server boots with
no agents.
"""

import contextlib
import datetime
import fcntl
import json
import os
import pwd
import grp
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA_ENV = "STACKFORM_REAL_OPENSTACK_DIR"
TIMEOUT_ENV = "STACKFORM_REAL_OPENSTACK_TIMEOUT"
CONSTRAINTS = REPO / ".ci" / "constraints-2026.1.txt"

APT_PACKAGES = ["mariadb-server", "rabbitmq-server"]
PIP_PACKAGES = [
    "keystone==29.0.2",
    "glance==32.0.0",
    "neutron==28.0.1",
    "nova==33.0.2",
    "openstack-placement==15.0.0",
    "python-openstackclient",
    "gunicorn",
    "pymysql",
]

HOST = "127.0.0.1"
AUTH_URL = f"http://{HOST}:5000/v3"
REGION = "RegionOne"
# nova-compute's host name: Nova's service and hypervisor, Neutron's port
# binding host and the fake Open vSwitch agent all use it.
COMPUTE_HOST = "stackform-compute"
RABBIT_NODE = "stackform@localhost"

# Every TCP port `start` needs, checked before anything starts.
PORTS = [
    (3306, "MariaDB"),
    (4369, "epmd, the Erlang port mapper RabbitMQ registers with"),
    (5672, "RabbitMQ (AMQP)"),
    (25672, "RabbitMQ's Erlang distribution"),
    (5000, "Keystone"),
    (9292, "Glance"),
    (9696, "Neutron"),
    (8778, "Placement"),
    (8774, "Nova API"),
]

# The catalog: service type -> (service name, URL).
CATALOG = {
    "image": ("glance", f"http://{HOST}:9292"),
    "network": ("neutron", f"http://{HOST}:9696"),
    "compute": ("nova", f"http://{HOST}:8774/v2.1"),
    "placement": ("placement", f"http://{HOST}:8778"),
}
SERVICE_USERS = ["glance", "neutron", "nova", "placement"]
DATABASES = ["keystone", "glance", "neutron", "placement", "nova_api", "nova_cell0", "nova"]

FLAVORS = [
    {"id": "99", "name": "m1.acctest", "ram": 512, "vcpus": 1, "disk": 10},
    {"id": "98", "name": "m1.resize", "ram": 512, "vcpus": 1, "disk": 11},
]
IMAGE_NAME = "cirros-acc"
NETWORK_NAME = "private"
SUBNET_NAME = "private-subnet"
SUBNET_CIDR = "10.0.0.0/24"

STOP_GRACE = 20.0  # seconds between SIGTERM and SIGKILL
LOG_TAIL = 40


class HarnessError(Exception):
    """A failure the user can act on; printed without a traceback."""


# ---------------------------------------------------------------- layout


class Paths:
    """Where everything lives under the one data directory."""

    def __init__(self, root):
        self.root = root
        self.venv = root / "venv"
        self.bin = self.venv / "bin"
        self.etc = root / "etc"
        self.log = root / "log"
        self.run = root / "run"
        self.state = root / "state"
        self.tmp = root / "tmp"
        self.mysql = root / "mysql"
        self.rabbitmq = root / "rabbitmq"
        self.keystone = root / "keystone"
        self.glance = root / "glance"
        self.neutron = root / "neutron"
        self.nova = root / "nova"
        self.placement = root / "placement"
        self.wsgi = root / "wsgi"
        self.images = root / "images"
        self.secrets = root / "secrets.json"
        self.clouds = root / "clouds.yaml"
        self.mysql_sock = self.run / "mysqld.sock"
        self.image_file = self.images / f"{IMAGE_NAME}.qcow2"
        self.lock = root / "harness.lock"

    def conf(self, service, name):
        return self.etc / service / name

    def log_of(self, name):
        return self.log / f"{name}.log"

    def pid_of(self, name):
        return self.run / f"{name}.pid"

    def marker(self, name):
        return self.state / f"{name}.done"


def data_dir():
    configured = os.environ.get(DATA_ENV)
    root = Path(configured) if configured else REPO / "target" / "real-openstack"
    paths = Paths(root.resolve())
    if len(bytes(paths.mysql_sock)) > 107:  # sun_path holds 108 bytes
        raise HarnessError(f"{paths.root} is too long a path for MariaDB's socket ({paths.mysql_sock}); choose a shorter {DATA_ENV}")
    return paths


# ------------------------------------------------------------- utilities


def say(message=""):
    print(message, flush=True)


@contextlib.contextmanager
def phase(name):
    start = time.monotonic()
    say(f"{name} ...")
    yield
    say(f"{name}: {time.monotonic() - start:.1f} s")


def write_private(path, text):
    """Writes a file only its owner can read (configs hold passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def ini(sections):
    out = []
    for section, options in sections.items():
        out.append(f"[{section}]")
        for key, value in options.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            out.append(f"{key} = {value}")
        out.append("")
    return "\n".join(out)


def tail(path, lines=LOG_TAIL):
    """The last lines a log got since its latest "=== " header (each start
    of a service appends one), so an earlier run's output is not shown."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))
            text = f.read().decode(errors="replace")
    except FileNotFoundError:
        return "(no log yet)"
    header = text.rfind("\n=== ")
    if header >= 0:
        text = text[header + 1 :]
    return "\n".join(text.splitlines()[-lines:])


def clean_env(paths):
    """The environment for OpenStack processes: the virtualenv first on
    PATH, bytecode caching on (start-up imports thousands of modules),
    and no OS_* variable of the caller's leaking in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OS_") and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    env["PATH"] = f"{paths.bin}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def run_logged(argv, log_path, env, what, extra_env=None):
    """Runs a set-up command with its output appended to log_path; on
    failure raises with the log's tail."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(env)
    if extra_env:
        full_env.update(extra_env)
    with open(log_path, "ab") as log:
        log.write(f"\n=== {datetime.datetime.now().isoformat(timespec='seconds')} {' '.join(map(str, argv))}\n".encode())
        log.flush()
        code = subprocess.call([str(a) for a in argv], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=full_env)
    if code != 0:
        raise HarnessError(f"{what} failed (exit {code}); log {log_path}:\n{tail(log_path)}")


def load_secrets(paths, create=False):
    if paths.secrets.exists():
        return json.loads(paths.secrets.read_text())
    if not create:
        raise HarnessError(f"no {paths.secrets}: run `harness.py install` first")
    names = ["mariadb", "rabbitmq", "admin", "demo"] + SERVICE_USERS
    values = {name: secrets.token_hex(16) for name in names}
    write_private(paths.secrets, json.dumps(values, indent=2) + "\n")
    return values


# ------------------------------------------------------------ processes


def proc_stat(pid):
    """(state, session id, start time in ticks) of a process, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = raw[raw.rfind(")") + 2 :].split()
    return rest[0], int(rest[3]), int(rest[19])


def proc_cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def proc_rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def session_members(leader):
    """Processes in the session `start` created for one service (the
    leader's pid stays reserved as a session id while any member lives,
    so this never names a stranger)."""
    members = []
    for pid in all_pids():
        st = proc_stat(pid)
        if st and st[1] == leader and st[0] not in ("Z", "X"):
            members.append(pid)
    return members


class Service:
    """One process `start` launches, and how to tell it is its own."""

    def __init__(self, name, title, argv, env=None, port=None, markers=(), cwd=None):
        self.name = name
        self.title = title
        self.argv = argv  # callable(paths, secrets) -> list
        self.env = env  # callable(paths, secrets) -> dict of additions
        self.port = port
        self.markers = markers  # strings one of which the cmdline holds
        self.cwd = cwd

    def record(self, paths):
        """(pid, start ticks) from the pid file, or None."""
        try:
            pid, ticks = paths.pid_of(self.name).read_text().split()
            return int(pid), int(ticks)
        except (FileNotFoundError, ValueError):
            return None

    def own_pid(self, paths):
        """The recorded pid if that process still runs and is ours: same
        start time as recorded, and its command line names the data
        directory or the expected program."""
        rec = self.record(paths)
        if not rec:
            return None
        pid, ticks = rec
        st = proc_stat(pid)
        if not st or st[0] in ("Z", "X") or st[2] != ticks:
            return None
        cmdline = proc_cmdline(pid)
        if str(paths.root) in cmdline or any(m in cmdline for m in self.markers):
            return pid
        return None

    def members(self, paths):
        """Every live process of this service (leader and children)."""
        rec = self.record(paths)
        if not rec:
            return []
        pid, ticks = rec
        st = proc_stat(pid)
        if st and st[2] != ticks:
            # The pid belongs to a stranger now, so no process of ours is
            # left: the kernel keeps a pid reserved while any process
            # still carries it as its session id.
            return []
        if st and st[0] not in ("Z", "X") and not self.own_pid(paths):
            return []
        # The leader, or children it left behind: they carry its session id.
        return session_members(pid)


def gunicorn(name, module, port, threads=4):
    def argv(paths, _s):
        return [
            paths.bin / "gunicorn",
            "--bind", f"{HOST}:{port}",
            "--workers", "1",
            "--worker-class", "gthread",
            "--threads", str(threads),
            "--timeout", "300",
            "--graceful-timeout", "5",
            "--no-control-socket",
            "--name", f"stackform-{name}",
            "--chdir", paths.wsgi,
            "--error-logfile", "-",
            "--access-logfile", "-",
            "--access-logformat", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
            f"{module}:application",
        ]

    return Service(name, f"{name.capitalize()} API on {HOST}:{port}", argv, port=port, markers=(f"stackform-{name}",))


def nova_daemon(binary, extra_conf=()):
    def argv(paths, _s):
        args = [paths.bin / binary, "--config-file", paths.conf("nova", "nova.conf")]
        for name in extra_conf:
            args += ["--config-file", paths.conf("nova", name)]
        return args

    return Service(binary, binary, argv)


def mariadb_argv(paths, _s, networking=True):
    args = [
        "/usr/sbin/mariadbd",
        "--no-defaults",
        f"--user={pwd.getpwuid(os.getuid()).pw_name}",
        f"--datadir={paths.mysql}",
        f"--socket={paths.mysql_sock}",
        f"--pid-file={paths.run / 'mariadbd.pid'}",
        f"--tmpdir={paths.tmp}",
        "--skip-name-resolve",
        "--max-connections=500",
        "--innodb-buffer-pool-size=64M",
        "--innodb-log-file-size=32M",
        "--innodb-flush-log-at-trx-commit=2",
        "--performance-schema=OFF",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_general_ci",
    ]
    if networking:
        args += [f"--bind-address={HOST}", "--port=3306"]
    else:
        args += ["--skip-networking"]
    return args


def rabbitmq_env(paths, s):
    rmq = paths.etc / "rabbitmq"
    return {
        "HOME": str(paths.rabbitmq),
        "RABBITMQ_CONF_ENV_FILE": str(rmq / "rabbitmq-env.conf"),
        "RABBITMQ_CONFIG_FILE": str(rmq / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(rmq / "advanced.config"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(rmq / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(paths.rabbitmq / "mnesia"),
        "RABBITMQ_LOG_BASE": str(paths.log / "rabbitmq"),
        "RABBITMQ_LOGS": "-",
        "RABBITMQ_PID_FILE": str(paths.run / "rabbitmq-beam.pid"),
        "RABBITMQ_NODENAME": RABBIT_NODE,
        "RABBITMQ_NODE_IP_ADDRESS": HOST,
        "RABBITMQ_NODE_PORT": "5672",
        "RABBITMQ_DIST_PORT": "25672",
        "ERL_EPMD_ADDRESS": HOST,
        "ERL_EPMD_PORT": "4369",
        # The distribution listens on loopback only; the schedulers do not
        # spin waiting for work (two cores are shared with everything).
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none",
        # Makes rabbitmq-server exec the VM instead of wrapping it in a
        # shell that stops it through rabbitmqctl: the recorded pid is the
        # broker and SIGTERM stops it cleanly.
        "RUNNING_UNDER_SYSTEMD": "true",
    }


SERVICES = [
    Service("mariadb", f"MariaDB on {HOST}:3306 and a socket in the data directory", mariadb_argv, port=3306, markers=("mariadbd",)),
    Service("epmd", f"epmd on {HOST}:4369", lambda p, s: ["/usr/bin/epmd", "-address", HOST, "-port", "4369"], port=4369, markers=("epmd",)),
    Service("rabbitmq", f"RabbitMQ on {HOST}:5672", lambda p, s: ["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=rabbitmq_env, port=5672, markers=("beam", "rabbit")),
    gunicorn("keystone", "stackform_keystone", 5000, threads=4),
    gunicorn("glance", "stackform_glance", 9292, threads=4),
    gunicorn("neutron", "stackform_neutron", 9696, threads=4),
    gunicorn("placement", "stackform_placement", 8778, threads=2),
    gunicorn("nova-api", "stackform_nova_api", 8774, threads=4),
    nova_daemon("nova-conductor"),
    nova_daemon("nova-scheduler"),
    nova_daemon("nova-compute", extra_conf=("nova-compute.conf",)),
]
BY_NAME = {s.name: s for s in SERVICES}
NOVA_DAEMONS = ["nova-conductor", "nova-scheduler", "nova-compute"]


def spawn(service, paths, secrets_, env):
    """Starts one service in a session of its own (so `stop` can reach its
    children) with its output appended to its log; records pid and start
    time."""
    log_path = paths.log_of(service.name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(env)
    if service.env:
        full_env.update(service.env(paths, secrets_))
    argv = [str(a) for a in service.argv(paths, secrets_)]
    with open(log_path, "ab") as log:
        log.write(f"\n=== {datetime.datetime.now().isoformat(timespec='seconds')} start {service.name}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(service.cwd or paths.root),
            env=full_env,
            start_new_session=True,
        )
    st = proc_stat(proc.pid)
    paths.pid_of(service.name).write_text(f"{proc.pid} {st[2] if st else 0}\n")
    return proc


def stop_services(paths, services, grace=STOP_GRACE):
    """SIGTERM to each service, SIGKILL to any of its processes left after
    the grace period. Only sessions whose leader was recorded by
    `start` are touched."""
    targets = {}
    for service in services:
        members = service.members(paths)
        if members:
            targets[service.name] = members
    for name, members in targets.items():
        # The leader alone: gunicorn's master stops its worker, RabbitMQ's
        # VM its port programs, cotyledon's master its worker. Children
        # get the signal themselves only when their leader is gone.
        leader = BY_NAME[name].own_pid(paths)
        for pid in [leader] if leader else members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any(BY_NAME[name].members(paths) for name in targets):
            break
        time.sleep(0.2)
    killed = []
    for name in targets:
        left = BY_NAME[name].members(paths)
        if left:
            killed.append(name)
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    for name in targets:
        for _ in range(50):
            if not BY_NAME[name].members(paths):
                break
            time.sleep(0.1)
    for service in services:
        with contextlib.suppress(FileNotFoundError):
            paths.pid_of(service.name).unlink()
    return list(targets), killed


# ------------------------------------------------------------------ ports


def port_taken(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((HOST, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def port_holder(port):
    """'pid N (name)' of the process listening on port, when /proc tells."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    if not inodes:
        return None
    for pid in all_pids():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    comm = Path(f"/proc/{pid}/comm").read_text().strip()
                    return f"pid {pid} ({comm})"
        except (FileNotFoundError, PermissionError, ProcessLookupError, NotADirectoryError):
            continue
    return None


def check_ports():
    taken = []
    for port, purpose in PORTS:
        if port_taken(port):
            holder = port_holder(port)
            taken.append(f"  {HOST}:{port} ({purpose}) is taken" + (f" by {holder}" if holder else ""))
    if taken:
        raise HarnessError("refusing to start; ports in use:\n" + "\n".join(taken) + "\nnothing was started or stopped")


# -------------------------------------------------------------- MariaDB


def mysql(paths, sql, database=None):
    argv = ["mariadb", "--no-defaults", "-uroot", f"--socket={paths.mysql_sock}", "-N", "-B"]
    if database:
        argv.append(database)
    out = subprocess.run(argv, input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        raise HarnessError(f"MariaDB: {out.stderr.strip()}")
    return out.stdout


def mysql_ready(paths):
    if not paths.mysql_sock.exists():
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect(str(paths.mysql_sock))
        return bool(s.recv(4))
    except OSError:
        return False
    finally:
        s.close()


def db_url(paths, s, database):
    return f"mysql+pymysql://stackform:{s['mariadb']}@localhost/{database}?unix_socket={paths.mysql_sock}&charset=utf8mb4"


# ------------------------------------------------------------ HTTP/REST


class HttpError(Exception):
    def __init__(self, method, url, status, body):
        super().__init__(f"{method} {url}: HTTP {status}: {body[:400]}")
        self.status = status
        self.body = body


def http(method, url, body=None, headers=None, timeout=60, raw=None):
    """(status, headers, parsed JSON or None). Never logs headers, which
    carry tokens."""
    data = None
    hdrs = {"Accept": "application/json"}
    if headers:
        hdrs.update(headers)
    if raw is not None:
        data = raw
    elif body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read()
            status, rh = resp.status, resp.headers
    except urllib.error.HTTPError as e:
        text = e.read()
        status, rh = e.code, e.headers
    parsed = None
    if text:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
    if status >= 400:
        raise HttpError(method, url, status, text.decode(errors="replace"))
    return status, rh, parsed


def http_status(url, timeout=2):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


class Cloud:
    """A password-authenticated session with one token per run (a token
    costs a bcrypt round in Keystone)."""

    def __init__(self, username, password, project):
        self.username, self.password, self.project = username, password, project
        self._token = None

    def token(self):
        if self._token is None:
            body = {
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {"user": {"name": self.username, "domain": {"id": "default"}, "password": self.password}},
                    },
                    "scope": {"project": {"name": self.project, "domain": {"id": "default"}}},
                }
            }
            _, headers, _ = http("POST", f"{AUTH_URL}/auth/tokens?nocatalog", body)
            self._token = headers["X-Subject-Token"]
        return self._token

    def call(self, method, url, body=None, headers=None, raw=None, timeout=120):
        hdrs = {"X-Auth-Token": self.token(), "OpenStack-API-Version": "compute latest", "X-OpenStack-Nova-API-Version": "latest"}
        if headers:
            hdrs.update(headers)
        return http(method, url, body, hdrs, timeout=timeout, raw=raw)

    def get(self, url):
        return self.call("GET", url)[2]


def url_of(service_type):
    return CATALOG[service_type][1]


# -------------------------------------------------------- configuration


def keystone_authtoken(s, user):
    return {
        "www_authenticate_uri": f"http://{HOST}:5000",
        "auth_url": f"http://{HOST}:5000",
        "auth_type": "password",
        "project_domain_name": "Default",
        "user_domain_name": "Default",
        "project_name": "service",
        "username": user,
        "password": s[user],
        "region_name": REGION,
        "service_token_roles_required": True,
    }


def service_auth(s, user):
    return {
        "auth_type": "password",
        "auth_url": f"http://{HOST}:5000/v3",
        "project_domain_name": "Default",
        "user_domain_name": "Default",
        "project_name": "service",
        "username": user,
        "password": s[user],
        "region_name": REGION,
    }


def write_configs(paths, s):
    """Every configuration file, regenerated from this script each time
    (cheap, and a changed script takes effect on the next start)."""
    for d in (paths.etc, paths.log, paths.run, paths.state, paths.tmp, paths.wsgi, paths.images, paths.log / "rabbitmq",
              paths.rabbitmq / "mnesia", paths.keystone, paths.glance / "images", paths.glance / "staging",
              paths.glance / "tasks", paths.glance / "cache", paths.neutron, paths.nova / "instances", paths.placement):
        d.mkdir(parents=True, exist_ok=True)
    transport = f"rabbit://stackform:{s['rabbitmq']}@{HOST}:5672/"
    common = {"use_stderr": True, "debug": False}
    lock = lambda svc: {"lock_path": str(paths.root / svc / "lock")}  # noqa: E731

    write_private(paths.conf("keystone", "keystone.conf"), ini({
        "DEFAULT": dict(common),
        "database": {"connection": db_url(paths, s, "keystone")},
        "token": {"provider": "fernet"},
        "fernet_tokens": {"key_repository": paths.keystone / "fernet-keys"},
        "fernet_receipts": {"key_repository": paths.keystone / "fernet-keys"},
        "credential": {"key_repository": paths.keystone / "credential-keys"},
        # bcrypt's default 12 rounds cost 0.6-0.8 s per token here.
        "identity": {"password_hash_rounds": 4},
        "cache": {"enabled": False},
    }))

    write_private(paths.conf("glance", "glance-api.conf"), ini({
        "DEFAULT": dict(common, enabled_backends="fs:file"),
        "database": {"connection": db_url(paths, s, "glance")},
        "keystone_authtoken": keystone_authtoken(s, "glance"),
        "paste_deploy": {"flavor": "keystone"},
        "glance_store": {"default_backend": "fs"},
        "fs": {"filesystem_store_datadir": paths.glance / "images"},
        "os_glance_staging_store": {"filesystem_store_datadir": paths.glance / "staging"},
        "os_glance_tasks_store": {"filesystem_store_datadir": paths.glance / "tasks"},
        "oslo_concurrency": lock("glance"),
    }))
    copy_shipped(paths, "glance", "glance-api-paste.ini")

    write_private(paths.conf("neutron", "neutron.conf"), ini({
        "DEFAULT": dict(
            common,
            core_plugin="ml2",
            service_plugins="",
            auth_strategy="keystone",
            transport_url=transport,
            state_path=paths.neutron,
            api_paste_config=paths.conf("neutron", "api-paste.ini"),
            notify_nova_on_port_status_changes=True,
            notify_nova_on_port_data_changes=True,
        ),
        "database": {"connection": db_url(paths, s, "neutron")},
        "keystone_authtoken": keystone_authtoken(s, "neutron"),
        "nova": service_auth(s, "nova"),
        "oslo_concurrency": lock("neutron"),
        "ml2": {
            "type_drivers": "flat,vlan,vxlan",
            "tenant_network_types": "vxlan",
            "mechanism_drivers": "openvswitch",
            "extension_drivers": "port_security",
        },
        "ml2_type_vxlan": {"vni_ranges": "1:10000"},
    }))
    copy_shipped(paths, "neutron", "api-paste.ini")

    write_private(paths.conf("placement", "placement.conf"), ini({
        "DEFAULT": dict(common),
        "placement_database": {"connection": db_url(paths, s, "placement")},
        "api": {"auth_strategy": "keystone"},
        "keystone_authtoken": keystone_authtoken(s, "placement"),
    }))

    write_private(paths.conf("nova", "nova.conf"), ini({
        "DEFAULT": dict(
            common,
            transport_url=transport,
            # FakeDriver keeps no node identity file and refuses a second
            # start; this one names its node after the host and restarts.
            compute_driver="fake.FakeDriverWithoutFakeNodes",
            state_path=paths.nova,
            instances_path=paths.nova / "instances",
            my_ip=HOST,
            report_interval=5,
            # Periodic tasks (the scheduler's host discovery among them)
            # start at once instead of after a random delay of up to 60 s.
            periodic_fuzzy_delay=0,
            # SIGTERM waits this long for RPC work in flight, not 60 s.
            graceful_shutdown_timeout=5,
            manager_shutdown_timeout=3,
            # A shelved server is offloaded at once (SHELVED_OFFLOADED).
            shelved_offload_time=0,
            # One host: a resize must be allowed to land where it started.
            allow_resize_to_same_host=True,
        ),
        "api": {"auth_strategy": "keystone"},
        "wsgi": {"api_paste_config": paths.conf("nova", "api-paste.ini")},
        "api_database": {"connection": db_url(paths, s, "nova_api")},
        "database": {"connection": db_url(paths, s, "nova")},
        "keystone_authtoken": keystone_authtoken(s, "nova"),
        "service_user": dict(service_auth(s, "nova"), send_service_user_token=True),
        "placement": dict(service_auth(s, "placement"), valid_interfaces="internal,public"),
        "neutron": dict(service_auth(s, "neutron"), valid_interfaces="internal,public"),
        "glance": {"region_name": REGION, "valid_interfaces": "internal,public"},
        "cinder": {"os_region_name": REGION},
        "conductor": {"workers": 1},
        "scheduler": {"workers": 1, "discover_hosts_in_cells_interval": 2},
        "oslo_concurrency": lock("nova"),
        "vnc": {"enabled": False},
    }))
    write_private(paths.conf("nova", "nova-compute.conf"), ini({"DEFAULT": {"host": COMPUTE_HOST}}))
    copy_shipped(paths, "nova", "api-paste.ini")

    wrappers = {
        "stackform_keystone": ("keystone.wsgi.api", {"OS_KEYSTONE_CONFIG_DIR": paths.etc / "keystone"}),
        "stackform_glance": ("glance.wsgi.api", {"OS_GLANCE_CONFIG_DIR": paths.etc / "glance"}),
        "stackform_neutron": ("neutron.wsgi.api", {"OS_NEUTRON_CONFIG_DIR": paths.etc / "neutron", "OS_NEUTRON_CONFIG_FILES": "neutron.conf"}),
        "stackform_placement": ("placement.wsgi.api", {"OS_PLACEMENT_CONFIG_DIR": paths.etc / "placement"}),
        "stackform_nova_api": ("nova.wsgi.osapi_compute", {"OS_NOVA_CONFIG_DIR": paths.etc / "nova", "OS_NOVA_CONFIG_FILES": "api-paste.ini;nova.conf"}),
    }
    for module, (target, env) in wrappers.items():
        lines = [
            f'"""gunicorn entry point for {target} (written by harness.py).',
            "",
            "oslo.config parses sys.argv inside the application, where it would",
            'find gunicorn\'s flags; the service reads its configuration from here."""',
            "import os",
            "import sys",
            "",
            "sys.argv = sys.argv[:1]",
        ]
        lines += [f"os.environ[{k!r}] = {str(v)!r}" for k, v in env.items()]
        lines += [f"from {target} import application  # noqa: E402,F401", ""]
        (paths.wsgi / f"{module}.py").write_text("\n".join(lines))

    rmq = paths.etc / "rabbitmq"
    rmq.mkdir(parents=True, exist_ok=True)
    (rmq / "rabbitmq-env.conf").write_text("# empty: everything is set by harness.py's environment\n")
    (rmq / "enabled_plugins").write_text("[].\n")
    write_private(rmq / "rabbitmq.conf", "\n".join([
        f"listeners.tcp.1 = {HOST}:5672",
        # The first boot creates this user; the guest user stays
        # loopback-only as always.
        "default_user = stackform",
        f"default_pass = {s['rabbitmq']}",
        "default_vhost = /",
        "default_permissions.configure = .*",
        "default_permissions.read = .*",
        "default_permissions.write = .*",
        "log.console = true",
        "log.file = false",
        "log.console.level = warning",
        "",
    ]))

    clouds = ["clouds:"]
    for cloud, user, project in (("stackform-admin", "admin", "admin"), ("stackform-demo", "demo", "demo")):
        clouds += [
            f"  {cloud}:",
            "    auth:",
            f"      auth_url: {AUTH_URL}",
            f"      username: {user}",
            f'      password: "{s[user]}"',
            f"      project_name: {project}",
            "      user_domain_name: Default",
            "      project_domain_name: Default",
            f"    region_name: {REGION}",
            "    interface: public",
            "    identity_api_version: 3",
        ]
    write_private(paths.clouds, "\n".join(clouds) + "\n")


def copy_shipped(paths, service, name):
    """Copies a paste file the package ships into the service's config
    directory."""
    src = paths.venv / "etc" / service / name
    dst = paths.conf(service, name)
    if not src.exists():
        raise HarnessError(f"{src} is missing from the virtualenv; run `harness.py install`")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        shutil.copyfile(src, dst)


# --------------------------------------------------------------- install


def dpkg_installed(package):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return out.returncode == 0 and out.stdout.strip() == "install ok installed"


POLICY_RC = Path("/usr/sbin/policy-rc.d")


@contextlib.contextmanager
def services_not_started_by_apt():
    """A policy-rc.d that exits 101 for the duration: the packages'
    postinst scripts must not start the system MariaDB or RabbitMQ (they
    would take the ports and run outside the data directory)."""
    saved = POLICY_RC.with_name("policy-rc.d.stackform-saved")
    if saved.exists() and not POLICY_RC.exists():
        saved.rename(POLICY_RC)  # left over from an interrupted run
    had = POLICY_RC.exists()
    if had:
        shutil.copy2(POLICY_RC, saved)
    POLICY_RC.write_text("#!/bin/sh\n# written by stackform's harness.py for the length of an apt-get install\nexit 101\n")
    POLICY_RC.chmod(0o755)
    try:
        yield
    finally:
        if had:
            os.replace(saved, POLICY_RC)
        else:
            POLICY_RC.unlink(missing_ok=True)


def install_apt(paths):
    wanted = list(APT_PACKAGES)
    if not Path("/usr/bin/qemu-img").exists():
        wanted.append("qemu-utils")
    missing = [p for p in wanted if not dpkg_installed(p)]
    if not missing:
        say(f"  apt: {', '.join(wanted)} already installed")
        return
    if os.getuid() != 0:
        raise HarnessError(f"apt packages missing ({', '.join(missing)}); run install as root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log = paths.log_of("install-apt")
    with services_not_started_by_apt():
        run_logged(["apt-get", "update", "-qq"], log, env, "apt-get update")
        run_logged(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], log, env, "apt-get install")
    say(f"  apt: installed {', '.join(missing)}")


def install_venv(paths):
    spec = json.dumps({"packages": PIP_PACKAGES, "constraints": CONSTRAINTS.read_text()}, sort_keys=True)
    marker = paths.venv / ".stackform-installed"
    python = paths.bin / "python"
    if marker.exists() and marker.read_text() == spec and python.exists():
        say(f"  virtualenv: {paths.venv} reused")
        return
    log = paths.log_of("install-pip")
    env = clean_env(paths)
    if not python.exists():
        run_logged([sys.executable, "-m", "venv", paths.venv], log, env, "python3 -m venv")
    run_logged([paths.bin / "pip", "install", "-q", "-c", CONSTRAINTS, *PIP_PACKAGES], log, env, "pip install")
    marker.write_text(spec)
    say(f"  virtualenv: {paths.venv} installed")


def install_fixture_image(paths):
    if paths.image_file.exists():
        return
    tmp = paths.image_file.with_suffix(".tmp")
    subprocess.run(["/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", str(tmp), "64M"], check=True)
    os.replace(tmp, paths.image_file)


def ensure_mariadb_initialized(paths, s):
    if (paths.mysql / "mysql").is_dir():
        return
    if paths.mysql.exists():
        shutil.rmtree(paths.mysql)
    paths.mysql.mkdir(parents=True)
    run_logged(
        ["mariadb-install-db", "--no-defaults", f"--user={pwd.getpwuid(os.getuid()).pw_name}", f"--datadir={paths.mysql}",
         "--auth-root-authentication-method=socket", "--skip-test-db"],
        paths.log_of("install-mariadb"), clean_env(paths), "mariadb-install-db",
    )


@contextlib.contextmanager
def mariadb_for_setup(paths, s):
    """MariaDB for migrations: the running one if `start` started it,
    otherwise a temporary one with no TCP listener (so install needs no
    port)."""
    service = BY_NAME["mariadb"]
    if service.own_pid(paths):
        yield
        return
    if service.members(paths):
        raise HarnessError("MariaDB from an earlier start is still shutting down; try again")
    paths.mysql_sock.unlink(missing_ok=True)  # left by a killed server
    log_path = paths.log_of("mariadb")
    with open(log_path, "ab") as log:
        log.write(f"\n=== {datetime.datetime.now().isoformat(timespec='seconds')} start for install (no TCP)\n".encode())
        log.flush()
        proc = subprocess.Popen([str(a) for a in mariadb_argv(paths, s, networking=False)], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not mysql_ready(paths):
            if proc.poll() is not None:
                raise HarnessError(f"MariaDB exited (code {proc.returncode}); log {log_path}:\n{tail(log_path)}")
            if time.monotonic() > deadline:
                raise HarnessError(f"MariaDB did not open its socket in 60 s; log {log_path}:\n{tail(log_path)}")
            time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ensure_databases(paths, s):
    statements = []
    for db in DATABASES:
        statements.append(f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4;")
    for host in ("localhost", "127.0.0.1"):
        statements.append(f"CREATE USER IF NOT EXISTS 'stackform'@'{host}' IDENTIFIED BY '{s['mariadb']}';")
        statements.append(f"ALTER USER 'stackform'@'{host}' IDENTIFIED BY '{s['mariadb']}';")
        for db in DATABASES:
            statements.append(f"GRANT ALL PRIVILEGES ON `{db}`.* TO 'stackform'@'{host}';")
    mysql(paths, "\n".join(statements))


def fake_ovs_agent(paths):
    """Neutron's openvswitch mechanism driver binds a port only on a host
    with a live Open vSwitch agent. No agent runs here; this row stands in
    for one, with a heartbeat far in the future so it never counts as
    down. The port is bound (vif_type ovs) and stays DOWN, which the fake
    compute driver does not wait for."""
    config = json.dumps({
        "tunnel_types": ["vxlan"],
        "tunneling_ip": HOST,
        "bridge_mappings": {},
        "l2_population": False,
        "integration_bridge": "br-int",
        "datapath_type": "system",
        "ovs_hybrid_plug": False,
        "ovs_capabilities": {"datapath_types": ["system"], "iface_types": ["vxlan"]},
        "devices": 0,
    })
    mysql(paths, f"""
INSERT INTO agents (id, agent_type, `binary`, topic, host, admin_state_up, created_at, started_at,
                    heartbeat_timestamp, description, configurations, `load`)
VALUES (UUID(), 'Open vSwitch agent', 'neutron-openvswitch-agent', 'N/A', '{COMPUTE_HOST}', 1, UTC_TIMESTAMP(),
        UTC_TIMESTAMP(), '2099-12-31 00:00:00', 'stands in for an agent: stackform harness, no agents run',
        '{config}', 0)
ON DUPLICATE KEY UPDATE heartbeat_timestamp = '2099-12-31 00:00:00', admin_state_up = 1,
                        configurations = VALUES(configurations);
""", database="neutron")


def migrate(paths, s):
    """DB schemas and Keystone's bootstrap, each once (a marker file in
    state/ says it is done); the five services migrate in parallel."""
    env = clean_env(paths)
    bin_ = paths.bin

    def step(marker, argv, log_name, what, extra_env=None):
        if paths.marker(marker).exists():
            return False
        run_logged(argv, paths.log_of(f"install-{log_name}"), env, what, extra_env)
        paths.marker(marker).write_text(datetime.datetime.now().isoformat() + "\n")
        return True

    def keystone():
        conf = ["--config-file", paths.conf("keystone", "keystone.conf")]
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        step("keystone-db", [bin_ / "keystone-manage", *conf, "db_sync"], "keystone", "keystone-manage db_sync")
        for kind in ("fernet_setup", "credential_setup"):
            step(f"keystone-{kind}", [bin_ / "keystone-manage", *conf, kind, "--keystone-user", user, "--keystone-group", group],
                 "keystone", f"keystone-manage {kind}")
        step("keystone-bootstrap", [
            bin_ / "keystone-manage", *conf, "bootstrap",
            "--bootstrap-username", "admin", "--bootstrap-project-name", "admin", "--bootstrap-role-name", "admin",
            "--bootstrap-service-name", "keystone", "--bootstrap-region-id", REGION,
            "--bootstrap-public-url", AUTH_URL, "--bootstrap-internal-url", AUTH_URL,
        ], "keystone", "keystone-manage bootstrap", {"OS_BOOTSTRAP_PASSWORD": s["admin"]})

    def glance():
        step("glance-db", [bin_ / "glance-manage", "--config-file", paths.conf("glance", "glance-api.conf"), "db_sync"],
             "glance", "glance-manage db_sync")

    def neutron():
        step("neutron-db", [bin_ / "neutron-db-manage", "--config-file", paths.conf("neutron", "neutron.conf"), "upgrade", "heads"],
             "neutron", "neutron-db-manage upgrade heads")
        fake_ovs_agent(paths)

    def placement():
        step("placement-db", [bin_ / "placement-manage", "--config-file", paths.conf("placement", "placement.conf"), "db", "sync"],
             "placement", "placement-manage db sync")

    def nova():
        manage = [bin_ / "nova-manage", "--config-file", paths.conf("nova", "nova.conf")]
        step("nova-api-db", [*manage, "api_db", "sync"], "nova", "nova-manage api_db sync")
        # cell0's database is nova's with _cell0 appended: nova_cell0.
        step("nova-cell0", [*manage, "cell_v2", "map_cell0"], "nova", "nova-manage cell_v2 map_cell0")
        if not paths.marker("nova-cell1").exists():
            cells = subprocess.run([str(a) for a in manage + ["cell_v2", "list_cells"]], capture_output=True, text=True, env=env)
            if " cell1 " not in cells.stdout:
                run_logged([*manage, "cell_v2", "create_cell", "--name", "cell1"], paths.log_of("install-nova"), env,
                           "nova-manage cell_v2 create_cell")
            paths.marker("nova-cell1").write_text(datetime.datetime.now().isoformat() + "\n")
        step("nova-db", [*manage, "db", "sync"], "nova", "nova-manage db sync")

    timings = {}
    errors = []

    def timed(name, fn):
        t = time.monotonic()
        try:
            fn()
        except Exception as e:  # reported after every thread ends
            errors.append(e)
        timings[name] = time.monotonic() - t

    threads = [threading.Thread(target=timed, args=(n, f)) for n, f in
               (("keystone", keystone), ("glance", glance), ("neutron", neutron), ("placement", placement), ("nova", nova))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    say("  " + ", ".join(f"{n} {t:.1f} s" for n, t in timings.items()))
    if errors:
        raise errors[0]


def cmd_install(paths, _args):
    start = time.monotonic()
    paths.root.mkdir(parents=True, exist_ok=True)
    with phase("apt packages"):
        install_apt(paths)
    with phase("virtualenv"):
        install_venv(paths)
    with phase("configuration"):
        s = load_secrets(paths, create=True)
        write_configs(paths, s)
        install_fixture_image(paths)
    with phase("databases and migrations"):
        ensure_mariadb_initialized(paths, s)
        with mariadb_for_setup(paths, s):
            ensure_databases(paths, s)
            migrate(paths, s)
    (paths.state / "installed").write_text(datetime.datetime.now().isoformat() + "\n")
    say(f"install done in {time.monotonic() - start:.1f} s; data in {paths.root}")
    return 0


# ---------------------------------------------------------- bootstrap


def ensure_identity(paths, s):
    """Service users, roles, the demo user and the catalog. Each step
    looks first and creates only what is missing."""
    admin = Cloud("admin", s["admin"], "admin")
    ks = AUTH_URL

    def find(collection, **query):
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return admin.get(f"{ks}/{collection}?{q}")[collection]

    def ensure(collection, singular, body, **query):
        found = find(collection, **query)
        if found:
            return found[0]["id"], False
        return admin.call("POST", f"{ks}/{collection}", {singular: body})[2][singular]["id"], True

    created = []
    roles = {}
    for role in ("admin", "member", "reader", "service"):
        roles[role], new = ensure("roles", "role", {"name": role}, name=role)
        if new:
            created.append(f"role {role}")
    projects = {}
    for project in ("service", "demo"):
        projects[project], new = ensure("projects", "project", {"name": project, "domain_id": "default"}, name=project)
        if new:
            created.append(f"project {project}")

    def ensure_user(name, project, role_names):
        uid, new = ensure("users", "user", {"name": name, "domain_id": "default", "password": s[name],
                                            "default_project_id": projects[project]}, name=name)
        if new:
            created.append(f"user {name}")
        for role in role_names:
            admin.call("PUT", f"{ks}/projects/{projects[project]}/users/{uid}/roles/{roles[role]}")

    for user in SERVICE_USERS:
        # admin for the calls between services; service for Nova's
        # external events and service tokens.
        ensure_user(user, "service", ["admin", "service"])
    ensure_user("demo", "demo", ["member", "reader"])

    for stype, (name, url) in CATALOG.items():
        sid, new = ensure("services", "service", {"name": name, "type": stype, "enabled": True}, type=stype)
        if new:
            created.append(f"service {name}")
        existing = {e["interface"] for e in find("endpoints", service_id=sid)}
        for interface in ("public", "internal"):
            if interface not in existing:
                admin.call("POST", f"{ks}/endpoints", {"endpoint": {
                    "service_id": sid, "interface": interface, "url": url, "region_id": REGION, "enabled": True}})
                created.append(f"{name} {interface} endpoint")
    return created


def ensure_fixtures(paths, s):
    admin = Cloud("admin", s["admin"], "admin")
    created = []
    nova = url_of("compute")
    for flavor in FLAVORS:
        try:
            admin.get(f"{nova}/flavors/{flavor['id']}")
        except HttpError as e:
            if e.status != 404:
                raise
            admin.call("POST", f"{nova}/flavors", {"flavor": dict(flavor, **{"os-flavor-access:is_public": True})})
            created.append(f"flavor {flavor['name']}")

    glance = url_of("image")
    images = admin.get(f"{glance}/v2/images?name={IMAGE_NAME}")["images"]
    if any(i["status"] == "active" for i in images):
        pass
    else:
        for image in images:  # an upload that never finished
            admin.call("DELETE", f"{glance}/v2/images/{image['id']}")
        image = admin.call("POST", f"{glance}/v2/images", {
            "name": IMAGE_NAME, "disk_format": "qcow2", "container_format": "bare", "visibility": "public"})[2]
        admin.call("PUT", f"{glance}/v2/images/{image['id']}/file", raw=paths.image_file.read_bytes(),
                   headers={"Content-Type": "application/octet-stream"})
        created.append(f"image {IMAGE_NAME}")

    neutron = url_of("network")
    nets = admin.get(f"{neutron}/v2.0/networks?name={NETWORK_NAME}")["networks"]
    if nets:
        net_id = nets[0]["id"]
    else:
        net_id = admin.call("POST", f"{neutron}/v2.0/networks", {"network": {"name": NETWORK_NAME, "shared": True}})[2]["network"]["id"]
        created.append(f"network {NETWORK_NAME}")
    if not admin.get(f"{neutron}/v2.0/subnets?network_id={net_id}")["subnets"]:
        admin.call("POST", f"{neutron}/v2.0/subnets", {"subnet": {
            "name": SUBNET_NAME, "network_id": net_id, "ip_version": 4, "cidr": SUBNET_CIDR}})
        created.append(f"subnet {SUBNET_CIDR}")
    return created


# ----------------------------------------------------------------- start


class StartFailure(HarnessError):
    pass


class Starter:
    """Launches services and waits on them, failing as soon as one of
    them exits."""

    def __init__(self, paths, s, deadline):
        self.paths, self.s, self.deadline = paths, s, deadline
        self.env = clean_env(paths)
        self.procs = {}
        self.t0 = time.monotonic()

    def launch(self, *names):
        for name in names:
            self.procs[name] = spawn(BY_NAME[name], self.paths, self.s, self.env)

    def check_alive(self):
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = self.paths.log_of(name)
                raise StartFailure(f"{name} exited with code {proc.returncode} while starting; log {log}:\n{tail(log)}")

    def wait(self, what, ready, service=None):
        while True:
            self.check_alive()
            if ready():
                say(f"  {what} ready at {time.monotonic() - self.t0:.1f} s")
                return
            if time.monotonic() > self.deadline:
                msg = f"timed out waiting for {what}"
                if service:
                    log = self.paths.log_of(service)
                    msg += f"; log {log}:\n{tail(log)}"
                raise StartFailure(msg)
            time.sleep(0.3)


def amqp_ready():
    try:
        with socket.create_connection((HOST, 5672), timeout=2) as s:
            s.sendall(b"AMQP\x00\x00\x09\x01")
            return s.recv(1) == b"\x01"  # a method frame: connection.start
    except OSError:
        return False


def nova_services_fresh(admin, since):
    """True when conductor, scheduler and compute have each reported a
    heartbeat after `since` (rows from an earlier run do not count)."""
    services = admin.get(f"{url_of('compute')}/os-services")["services"]
    fresh = set()
    for svc in services:
        updated = svc.get("updated_at")
        if svc["binary"] in NOVA_DAEMONS and updated and svc["state"] == "up":
            when = datetime.datetime.fromisoformat(updated.replace("Z", "")).replace(tzinfo=None, microsecond=0)
            if when >= since and (svc["binary"] != "nova-compute" or svc["host"] == COMPUTE_HOST):
                fresh.add(svc["binary"])
    return fresh == set(NOVA_DAEMONS)


def compute_mapped(paths, admin):
    """The compute host is mapped to cell1 and its hypervisor is listed."""
    rows = mysql(paths, f"SELECT c.name FROM host_mappings h JOIN cell_mappings c ON h.cell_id = c.id WHERE h.host = '{COMPUTE_HOST}';",
                 database="nova_api").split()
    if "cell1" not in rows:
        return False
    # The index, not /detail: from 2.88 /detail asks the compute service
    # for its uptime, which the fake driver does not implement.
    hypervisors = admin.get(f"{url_of('compute')}/os-hypervisors")["hypervisors"]
    return any(h.get("state") == "up" and h.get("status") == "enabled" for h in hypervisors)


def running_services(paths):
    return [s for s in SERVICES if s.own_pid(paths)]


def cmd_start(paths, _args):
    if not (paths.state / "installed").exists():
        raise HarnessError(f"nothing installed in {paths.root}: run `harness.py install` first")
    running = running_services(paths)
    if running:
        names = ", ".join(s.name for s in running)
        if len(running) == len(SERVICES):
            say(f"already running ({names}); `harness.py stop` stops it")
            return 0
        raise HarnessError(f"partly running ({names}); run `harness.py stop` first")
    for service in SERVICES:  # pid files of processes that are gone
        paths.pid_of(service.name).unlink(missing_ok=True)
    check_ports()
    s = load_secrets(paths)
    write_configs(paths, s)
    timeout = float(os.environ.get(TIMEOUT_ENV, "420"))
    since = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)
    st = Starter(paths, s, time.monotonic() + timeout)
    say(f"starting in {paths.root}")
    try:
        st.launch("mariadb", "epmd")
        st.wait("MariaDB", lambda: mysql_ready(paths) and not port_free_to_connect(3306), "mariadb")
        fake_ovs_agent(paths)
        st.launch("rabbitmq", "keystone")
        st.wait("Keystone", lambda: http_status(f"{AUTH_URL}") == 200, "keystone")
        st.launch("glance", "neutron", "placement", "nova-api")
        created = ensure_identity(paths, s)
        say(f"  identity: {', '.join(created) if created else 'users, roles and catalog present'}")
        st.wait("RabbitMQ", amqp_ready, "rabbitmq")
        st.wait("Placement", lambda: http_status(f"{url_of('placement')}/") == 200, "placement")
        st.launch("nova-conductor", "nova-scheduler", "nova-compute")
        st.wait("Glance", lambda: http_status(f"{url_of('image')}/versions") == 200, "glance")
        st.wait("Neutron", lambda: http_status(f"{url_of('network')}/") == 200, "neutron")
        st.wait("Nova API", lambda: http_status(f"http://{HOST}:8774/") in (200, 300), "nova-api")
        created = ensure_fixtures(paths, s)
        say(f"  fixtures: {', '.join(created) if created else 'flavors, image and network present'}")
        admin = Cloud("admin", s["admin"], "admin")
        st.wait("nova-conductor, -scheduler and -compute heartbeats", lambda: nova_services_fresh(admin, since), "nova-compute")
        st.wait(f"compute host {COMPUTE_HOST} in cell1", lambda: compute_mapped(paths, admin), "nova-scheduler")
    except (HarnessError, HttpError, OSError, KeyboardInterrupt) as e:
        say("start interrupted" if isinstance(e, KeyboardInterrupt) else f"start failed: {e}")
        stopped, _ = stop_all(paths)
        say(f"stopped what this start launched ({', '.join(stopped) or 'nothing was left running'})")
        return 1
    rss = total_rss(paths)
    say(f"started in {time.monotonic() - st.t0:.1f} s; {rss / 1024:.0f} MiB RSS in all; "
        f"OS_CLIENT_CONFIG_FILE={paths.clouds} (clouds stackform-admin, stackform-demo)")
    return 0


def port_free_to_connect(port):
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return False
    except OSError:
        return True


def total_rss(paths):
    return sum(proc_rss_kib(pid) for svc in SERVICES for pid in svc.members(paths))


# ------------------------------------------------------ stop/status/env


def stop_all(paths):
    """Stops every recorded service in stages: the OpenStack services
    first, then RabbitMQ and MariaDB they talk to, then epmd (RabbitMQ
    unregisters from it on the way out). Returns (stopped, killed)."""
    stages = [SERVICES[3:], [BY_NAME["rabbitmq"], BY_NAME["mariadb"]], [BY_NAME["epmd"]]]
    all_stopped, all_killed = [], []
    for stage in stages:
        stopped, killed = stop_services(paths, stage)
        all_stopped += stopped
        all_killed += killed
    return all_stopped, all_killed


def cmd_stop(paths, _args):
    start = time.monotonic()
    alive = [s for s in SERVICES if s.members(paths)]
    if not alive:
        for service in SERVICES:
            paths.pid_of(service.name).unlink(missing_ok=True)
        say("nothing is running")
        return 0
    stopped, killed = stop_all(paths)
    say(f"stopped {', '.join(stopped)} in {time.monotonic() - start:.1f} s"
        + (f" (killed after {STOP_GRACE:.0f} s: {', '.join(killed)})" if killed else ""))
    return 0


def cmd_status(paths, _args):
    any_running = False
    total = 0
    for service in SERVICES:
        members = service.members(paths)
        leader = service.own_pid(paths)
        if members:
            any_running = True
            rss = sum(proc_rss_kib(p) for p in members)
            total += rss
            state = f"running   pid {leader or '-'}" + (f" (+{len(members) - 1})" if len(members) > 1 else "")
            say(f"{service.name:15} {state:24} {rss / 1024:6.0f} MiB  {service.title}")
        else:
            stale = " (stale pid file)" if service.record(paths) else ""
            say(f"{service.name:15} stopped{stale}")
    if any_running:
        say(f"{'total':15} {'':24} {total / 1024:6.0f} MiB")
    say(f"data: {paths.root}")
    return 0


def cmd_env(paths, _args):
    say(f"OS_CLIENT_CONFIG_FILE={paths.clouds}")
    return 0


def cmd_run_clouds(paths, args):
    if not args:
        raise HarnessError("usage: harness.py run-clouds COMMAND [ARG...]")
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(paths.clouds))
    env["PATH"] = f"{paths.bin}:{env.get('PATH', '')}"
    try:
        os.execvpe(args[0], args, env)
    except FileNotFoundError:
        raise HarnessError(f"{args[0]}: command not found")


# ----------------------------------------------------------------- check


def cmd_check(paths, _args):
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    from check import run_check  # beside this file

    return run_check(paths, sys.modules[__name__])


COMMANDS = {
    "install": cmd_install,
    "start": cmd_start,
    "stop": cmd_stop,
    "status": cmd_status,
    "env": cmd_env,
    "run-clouds": cmd_run_clouds,
    "check": cmd_check,
}
LOCKED = {"install", "start", "stop", "check"}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        say(__doc__.strip())
        return 2
    command = argv[1]
    try:
        paths = data_dir()
        if command in LOCKED:
            paths.root.mkdir(parents=True, exist_ok=True)
            with open(paths.lock, "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    say(f"waiting for another harness.py to finish (it holds {paths.lock})")
                    fcntl.flock(lock, fcntl.LOCK_EX)
                return COMMANDS[command](paths, argv[2:])
        return COMMANDS[command](paths, argv[2:])
    except HarnessError as e:
        say(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except BrokenPipeError:  # output piped into head
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
