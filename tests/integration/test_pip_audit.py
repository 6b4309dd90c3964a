"""Dependency audit of both environments with pip-audit (PyPI vulnerability service).

Every advisory pip-audit reports for an installed package must either be fixed (bump the pin) or waived in
`audit/waivers.toml` with a reason. A waiver names the exact installed version, so a version change makes the
advisory come back for review. When the vulnerability service cannot answer (no network, or a mirror that
serves no per-version data), the audit SKIPS with the reason instead of passing silently: a canary
requirement with a well-known advisory must be reported before a clean result is trusted.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WAIVERS_FILE = ROOT / "audit" / "waivers.toml"
APP_PYTHON = ROOT / ".venv" / "bin" / "python"
ENVS = ("app", "bot")
# requests 2.19.0 has CVE-2018-18074 (fixed in 2.20.0): any working service reports it.
CANARY_REQUIREMENT = "requests==2.19.0"
CANARY_ALIAS = "CVE-2018-18074"
AUDIT_TIMEOUT_S = 240
# A few packages are legitimately unknown to PyPI (the editable project, local wheels like torch+cpu);
# when most are, the service is not answering per-version queries and the audit proves nothing.
MAX_UNKNOWN_SHARE = 0.5

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Waiver:
    id: str
    package: str
    env: str
    version: str
    reason: str


@dataclass(frozen=True)
class Finding:
    env: str
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]

    def stub(self) -> str:
        """A ready-to-edit waiver entry, printed when the finding is neither fixed nor waived."""
        return (
            f'[[waiver]]\nid = "{self.id}"\npackage = "{self.package}"\nenv = "{self.env}"\n'
            f'version = "{self.version}"\nreason = """TODO: why it does not apply / why we cannot upgrade'
            f' (fixed in {", ".join(self.fix_versions) or "no release yet"})"""\n'
        )


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def load_waivers(path: Path = WAIVERS_FILE) -> list[Waiver]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Waiver(**entry) for entry in data.get("waiver", [])]


def site_packages(env: str) -> Path:
    venv = ".venv" if env == "app" else ".venv-bot"
    found = sorted((ROOT / venv / "lib").glob("python3.*/site-packages"))
    if not found:
        pytest.skip(f"{venv} is not installed (run `make env`)")
    return found[-1]


def installed_versions(env: str) -> dict[str, str]:
    dists = metadata.distributions(path=[str(site_packages(env))])
    return {normalise(d.metadata["Name"]): d.version for d in dists}


def run_pip_audit(args: list[str]) -> dict[str, Any]:
    """Run pip-audit against the PyPI service; skip the test when the service cannot be reached."""
    command = [str(APP_PYTHON), "-m", "pip_audit", "--vulnerability-service", "pypi", "--format", "json",
               "--progress-spinner", "off", "--timeout", "30", *args]
    try:
        proc = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=AUDIT_TIMEOUT_S, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"pip-audit did not finish in {AUDIT_TIMEOUT_S} s: vulnerability service unreachable?")
    # pip-audit exits 1 when it found vulnerabilities; anything else with no JSON is a failure to audit.
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        if re.search(r"ConnectionError|NameResolution|Timeout|Max retries|SSLError", proc.stderr):
            pytest.skip(f"vulnerability service unreachable: {tail[0]}")
        raise AssertionError(f"pip-audit failed (exit {proc.returncode}): {proc.stderr[-2000:]}") from None


def findings_of(env: str, report: dict[str, Any]) -> list[Finding]:
    return [
        Finding(env=env, package=normalise(dep["name"]), version=dep["version"], id=vuln["id"],
                aliases=tuple(vuln.get("aliases", ())), fix_versions=tuple(vuln.get("fix_versions", ())))
        for dep in report["dependencies"]
        for vuln in dep.get("vulns", ())
    ]


def is_waived(finding: Finding, waivers: list[Waiver]) -> bool:
    ids = {finding.id, *finding.aliases}
    return any(
        w.id in ids and w.env == finding.env and normalise(w.package) == finding.package
        and w.version == finding.version
        for w in waivers
    )


@pytest.fixture(scope="module")
def audit_service() -> None:
    """Prove the service reports a well-known advisory before a clean result means anything."""
    if not APP_PYTHON.exists():
        pytest.skip(".venv is not installed (run `make env`)")
    canary = ROOT / "var" / "audit-canary.txt"
    canary.parent.mkdir(exist_ok=True)
    canary.write_text(CANARY_REQUIREMENT + "\n", encoding="utf-8")
    report = run_pip_audit(["--requirement", str(canary), "--no-deps", "--disable-pip"])
    dep = report["dependencies"][0]
    reported = {v["id"] for v in dep.get("vulns", ())} | {a for v in dep.get("vulns", ()) for a in v["aliases"]}
    if CANARY_ALIAS not in reported:
        why = dep.get("skip_reason") or "no advisories returned"
        pytest.skip(
            f"the PyPI vulnerability service is unusable from here ({CANARY_REQUIREMENT}: {why}); "
            "pip-audit needs https://pypi.org/pypi/<name>/<version>/json or the OSV API"
        )


def test_waivers_are_well_formed_and_current() -> None:
    """Runs offline: every waiver is complete and names the version that is installed now."""
    waivers = load_waivers()
    assert waivers, "audit/waivers.toml has no [[waiver]] entries"
    problems: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    versions = {env: installed_versions(env) for env in ENVS}
    for w in waivers:
        key = (w.env, normalise(w.package), w.id)
        if key in seen:
            problems.append(f"{w.id}: waived twice for {w.package} in {w.env}")
        seen.add(key)
        if w.env not in ENVS:
            problems.append(f"{w.id}: env must be one of {ENVS}, not {w.env!r}")
            continue
        if len(w.reason.split()) < 8:
            problems.append(f"{w.id}: the reason must say why it does not apply or why we cannot upgrade")
        have = versions[w.env].get(normalise(w.package))
        if have != w.version:
            problems.append(
                f"{w.id}: waived for {w.package} {w.version} but the {w.env} env has {have or 'no such package'}"
                " - look at the advisory again and update or delete the waiver"
            )
    assert not problems, "audit/waivers.toml:\n" + "\n".join(problems)


@pytest.mark.parametrize("env", ENVS)
def test_no_unwaived_advisories(env: str, audit_service: None) -> None:
    if env == "app":
        report = run_pip_audit(["--local", "--skip-editable"])
    else:
        report = run_pip_audit(["--path", str(site_packages("bot"))])
    deps = report["dependencies"]
    unknown = [d["name"] for d in deps if "not found on PyPI" in d.get("skip_reason", "")]
    if deps and len(unknown) / len(deps) > MAX_UNKNOWN_SHARE:
        pytest.skip(f"the vulnerability service knew {len(deps) - len(unknown)} of {len(deps)} packages only")
    open_findings = [f for f in findings_of(env, report) if not is_waived(f, load_waivers())]
    assert not open_findings, (
        f"{len(open_findings)} advisories in the {env} env are neither fixed nor waived. Bump the pin if it is "
        "safe, or add to audit/waivers.toml:\n\n" + "\n".join(f.stub() for f in open_findings)
    )


def test_findings_are_matched_to_waivers_by_id_or_alias_and_exact_version() -> None:
    """Offline check of the matching rules on a report shaped like pip-audit's JSON."""
    report = {"dependencies": [
        {"name": "aiohttp", "version": "3.9.5", "vulns": [
            {"id": "GHSA-8495-4g3g-x7pr", "aliases": ["CVE-2024-52304"], "fix_versions": ["3.10.11"]},
            {"id": "PYSEC-2099-1", "aliases": [], "fix_versions": []},
        ]},
        {"name": "Py_YAML", "version": "6.0.4", "vulns": []},
    ]}
    waivers = [Waiver(id="CVE-2024-52304", package="aiohttp", env="bot", version="3.9.5", reason="r"),
               Waiver(id="PYSEC-2099-1", package="aiohttp", env="bot", version="3.9.4", reason="r")]
    findings = findings_of("bot", report)
    assert [f.id for f in findings] == ["GHSA-8495-4g3g-x7pr", "PYSEC-2099-1"]
    assert is_waived(findings[0], waivers)
    assert not is_waived(findings[1], waivers), "a waiver for another version must not apply"
    assert not is_waived(findings_of("app", report)[0], waivers), "a waiver for the other env must not apply"
    assert 'id = "PYSEC-2099-1"' in findings[1].stub()
