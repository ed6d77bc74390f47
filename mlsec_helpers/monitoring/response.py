"""Incident response in the NIST Cybersecurity Framework's order, and the post-incident report.

The NIST CSF 2.0 names six functions (:data:`CSF_FUNCTIONS`); an incident runs through the last
three: **detect** (the alerts and their delays), **respond** (contain: revoke the keys, throttle
the account, stop serving a model that does not verify) and **recover** (restore a known-good
state: roll back to the last release whose signature verifies). A :class:`Runbook` records the
steps and refuses them out of that order; :func:`incident_report` turns it into the markdown of
a post-incident report.

The pieces the steps act on:

- :class:`ModelStore`: the ML team's signed releases (lab 11: a skops folder, a SHA-256
  manifest, a model-signing signature made with the team's elliptic-curve key) and the copies
  of their files in several places (the serving folder, the registry, an offline archive).
  Everything is kept in memory as bytes; every operation writes what it needs into a temporary
  folder that it removes before returning, so nothing outlives a call. :meth:`ModelStore.roll_back`
  tries candidates newest first and loads the first whose manifest and signature verify
  (lab 11's ``supplychain.verify_then_load``); a tampered copy is refused before it is parsed.
- :class:`AccountThrottle`: the hook that lab 12's ``apisec.common.build_app(detector=...)``
  calls on every prediction; it throttles whole accounts (all their keys, new ones included)
  with lab 12's ``TokenBucket``.
- :func:`replay`: sends logged requests through an API client (one patient per request, each
  with its own key), the clock advancing between them, and records the status codes.

Introduced in lab 13 (Monitoring and response).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..validate import (
    ArgumentTypeError,
    check_array,
    check_choice,
    check_number,
    check_positive,
    check_str,
)
from . import common

__all__ = [
    "CSF_FUNCTIONS",
    "LOCATIONS",
    "AccountThrottle",
    "ModelStore",
    "Release",
    "Rollback",
    "RollbackAttempt",
    "Runbook",
    "RunbookStep",
    "incident_report",
    "markdown_table",
    "replay",
]

CSF_FUNCTIONS: tuple[str, ...] = ("GOVERN", "IDENTIFY", "PROTECT", "DETECT", "RESPOND",
                                  "RECOVER")
"""The six functions of the NIST Cybersecurity Framework 2.0, in order. A :class:`Runbook`'s
steps follow this order.

Introduced in lab 13 (Monitoring and response)."""

LOCATIONS: tuple[str, ...] = ("serving", "registry", "archive")
"""Where a :class:`ModelStore` keeps copies of a release's files: the folder the API loads
(``serving``), the team's model registry (``registry``), an offline, write-once backup
(``archive``).

Introduced in lab 13 (Monitoring and response)."""


# --- the runbook --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunbookStep:
    """One step of an incident's runbook.

    Introduced in lab 13 (Monitoring and response).
    """

    number: int
    """Its position in the runbook (1, 2, ...)."""
    function: str
    """Its NIST CSF function (:data:`CSF_FUNCTIONS`)."""
    action: str
    """What was done, in a few words."""
    evidence: str
    """What it rests on or what it showed (measured)."""
    hour: float | None
    """The hour of the week it happened (None: not tied to an hour)."""


class Runbook:
    """The steps of an incident response, in the NIST CSF order: a step of an earlier function
    than the last one recorded is refused (``ValueError``): detection comes before the
    response, the response before recovery.

    Introduced in lab 13 (Monitoring and response).
    """

    def __init__(self, title: str):
        self.title = check_str(title, "title")
        self._steps: list[RunbookStep] = []

    def add(self, function: str, action: str, *, evidence: str = "",
            hour: float | None = None) -> RunbookStep:
        """Record a step of ``function`` (one of :data:`CSF_FUNCTIONS`); returns it."""
        function = check_choice(function, CSF_FUNCTIONS, "CSF function")
        action = check_str(action, "action")
        if not action.strip():
            raise ValueError("action must say what was done (got an empty string)")
        if not isinstance(evidence, str):
            raise ArgumentTypeError(f"evidence must be a string, got {type(evidence).__name__}")
        if hour is not None:
            hour = check_number(hour, "hour", low=0.0)
        if self._steps:
            last = self._steps[-1].function
            if CSF_FUNCTIONS.index(function) < CSF_FUNCTIONS.index(last):
                raise ValueError(f"a {function} step cannot follow a {last} step: the runbook "
                                 f"follows the CSF order {' -> '.join(CSF_FUNCTIONS)}")
        step = RunbookStep(len(self._steps) + 1, function, action, evidence, hour)
        self._steps.append(step)
        return step

    @property
    def steps(self) -> tuple[RunbookStep, ...]:
        """Every step so far, in order."""
        return tuple(self._steps)

    def frame(self, function: str | None = None) -> pd.DataFrame:
        """The steps (of ``function`` only, if given) as a table: step, function, when,
        action, evidence."""
        if function is not None:
            check_choice(function, CSF_FUNCTIONS, "CSF function")
        rows = [{"step": s.number, "function": s.function,
                 "when": "-" if s.hour is None else common.hour_label(int(s.hour)),
                 "action": s.action, "evidence": s.evidence}
                for s in self._steps if function is None or s.function == function]
        return pd.DataFrame(rows, columns=["step", "function", "when", "action", "evidence"])

    def __len__(self) -> int:
        return len(self._steps)

    def __repr__(self) -> str:
        return f"Runbook({self.title!r}, {len(self)} steps)"


def markdown_table(frame: pd.DataFrame) -> str:
    """``frame`` as a GitHub-flavoured markdown table (``|`` in cells escaped; floats with 3
    significant digits). Written by hand because pandas' ``to_markdown`` needs the tabulate
    package, which the course does not install.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError(f"frame must be a DataFrame, got {type(frame).__name__}")

    def cell(value) -> str:
        if isinstance(value, float | np.floating):
            text = "-" if np.isnan(value) else f"{value:.3g}"
        else:
            text = str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def incident_report(runbook: Runbook, *, detections: pd.DataFrame,
                    impact: Mapping[str, str], lessons: Sequence[str],
                    summary: str = "") -> str:
    """The post-incident report, in markdown, generated from the run: a summary, the timeline
    (the runbook's timed steps, by hour), the detections and their delays (``detections``, e.g.
    ``common.detections_table``), the actions (every runbook step, by CSF function), the
    impact (``impact``: what -> measured value, in words) and the lessons (one line each).

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(runbook, Runbook):
        raise ArgumentTypeError(f"runbook must be a Runbook, got {type(runbook).__name__}")
    if not len(runbook):
        raise ValueError("the runbook has no step: run the response first")
    if not isinstance(detections, pd.DataFrame) or detections.empty:
        raise ValueError("detections must be a non-empty DataFrame (common.detections_table)")
    if not isinstance(impact, Mapping) or not impact:
        raise ValueError("impact must be a non-empty mapping of what -> measured value")
    if isinstance(lessons, str) or not lessons or not all(isinstance(x, str) for x in lessons):
        raise ValueError("lessons must be a non-empty sequence of strings")
    timed = sorted((s for s in runbook.steps if s.hour is not None),
                   key=lambda s: (s.hour, s.number))
    lines = [f"## Post-incident report: {runbook.title}", ""]
    if summary:
        lines += [summary, ""]
    lines += ["### Timeline", ""]
    lines += [f"- **{common.hour_label(int(s.hour))}** ({s.function}): {s.action}" for s in timed]
    lines += ["", "### Detection", "", markdown_table(detections), "", "### Actions", ""]
    for function in CSF_FUNCTIONS:
        steps = [s for s in runbook.steps if s.function == function]
        if steps:
            lines.append(f"**{function}**")
            lines += [f"{s.number}. {s.action}" + (f" ({s.evidence})" if s.evidence else "")
                      for s in steps]
            lines.append("")
    lines += ["### Impact", ""]
    lines += [f"- {what}: {value}" for what, value in impact.items()]
    lines += ["", "### Lessons", ""]
    lines += [f"{i}. {lesson}" for i, lesson in enumerate(lessons, start=1)]
    return "\n".join(lines) + "\n"


# --- the signed releases ------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """A release of a model as the team signed it: its files, their manifest and the
    signature, all as bytes.

    Introduced in lab 13 (Monitoring and response).
    """

    version: str
    domain: str
    files: Mapping[str, bytes]
    """The files of the model folder (lab 11's ``save_system``: ``model.skops``,
    ``config.json``)."""
    manifest: bytes
    """The SHA-256 manifest (lab 11's ``write_manifest``), JSON."""
    signature: bytes
    """The model-signing bundle (lab 11's ``sign_model``), JSON."""


@dataclass(frozen=True)
class RollbackAttempt:
    """One candidate a rollback tried: what the manifest and the signature said, and whether
    it was loaded.

    Introduced in lab 13 (Monitoring and response).
    """

    version: str
    location: str
    manifest: str
    signature: str
    loaded: bool


@dataclass(frozen=True)
class Rollback:
    """What :meth:`ModelStore.roll_back` did: every attempt, in order, and the system it
    loaded (None when no candidate verified).

    Introduced in lab 13 (Monitoring and response).
    """

    attempts: tuple[RollbackAttempt, ...]
    version: str | None
    location: str | None
    system: object | None

    @property
    def ok(self) -> bool:
        """True when a verified release was loaded."""
        return self.system is not None

    @property
    def refused(self) -> int:
        """How many candidates were refused."""
        return sum(not a.loaded for a in self.attempts)

    def frame(self) -> pd.DataFrame:
        """The attempts as a table."""
        return pd.DataFrame([{"candidate": f"{a.version} ({a.location})",
                              "manifest": a.manifest, "signature": a.signature,
                              "loaded": "LOADED" if a.loaded else "refused"}
                             for a in self.attempts])


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _read_folder(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


class ModelStore:
    """The ML team's signed releases and the copies of their files in :data:`LOCATIONS`.

    The team's key pair (elliptic curve P-256, lab 11's ``make_key_pair``) is made when the
    store is created. :meth:`publish` saves a system in its safe format (lab 11's
    ``save_system``), writes its manifest and signs it (``sign_model``), and copies the files to
    the locations given. The manifest and signature stay with the team (an attacker who can
    write to a location changes files, not what the team signed). Nothing is written to disk
    except inside temporary folders that each method removes before it returns.

    Introduced in lab 13 (Monitoring and response).
    """

    def __init__(self, signer: str = "ml_team"):
        from ..supplychain import make_key_pair

        self.signer = check_str(signer, "signer")
        tmp = Path(tempfile.mkdtemp(prefix="mlsec_lab13_keys_"))
        try:
            pair = make_key_pair(tmp, name="team")
            self._private = pair.private_key.read_bytes()
            self.public_key = pair.public_key.read_bytes()
            """The team's public key (PEM)."""
            self.fingerprint = pair.fingerprint
            """SHA-256 of the public key's PEM (model-signing's key hint)."""
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._releases: dict[str, Release] = {}
        self._copies: dict[tuple[str, str], dict[str, bytes]] = {}

    # -- publishing and copying --

    def publish(self, version: str, system, *,
                locations: Sequence[str] = ("registry", "archive")) -> Release:
        """Save ``system`` (lab 11's ``save_system``), write its manifest, sign it with the
        team's key, keep the release and copy its files to ``locations``. Returns the
        :class:`Release`.
        """
        from ..supplychain import save_system, sign_model, write_manifest

        version = check_str(version, "version")
        if version in self._releases:
            raise ValueError(f"release {version!r} exists: versions are never overwritten")
        locations = self._locations(locations)
        tmp = Path(tempfile.mkdtemp(prefix="mlsec_lab13_publish_"))
        try:
            saved = save_system(system, tmp / version)
            write_manifest(saved.folder, tmp / "manifest.json")
            _write_private(tmp / "team.key", self._private)
            sign_model(saved.folder, tmp / "team.key", tmp / "release.sig")
            release = Release(version, str(system.domain), _read_folder(saved.folder),
                              (tmp / "manifest.json").read_bytes(),
                              (tmp / "release.sig").read_bytes())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._releases[version] = release
        for location in locations:
            self._copies[(version, location)] = dict(release.files)
        return release

    def copy(self, version: str, source: str, dest: str) -> None:
        """Copy the files of ``version`` at ``source`` (as they are there now) to ``dest``
        (a deployment that copies without verifying)."""
        files = self._files(version, source)
        self._copies[(version, self._location(dest))] = dict(files)

    def overwrite(self, version: str, location: str, system) -> None:
        """The attacker's move: replace the files of ``version`` at ``location`` with those of
        ``system`` saved the same way (same file names); the team's manifest and signature are
        untouched."""
        from ..supplychain import save_system

        self._files(version, location)
        tmp = Path(tempfile.mkdtemp(prefix="mlsec_lab13_tamper_"))
        try:
            saved = save_system(system, tmp / version)
            self._copies[(version, location)] = _read_folder(saved.folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # -- checking and loading --

    @contextmanager
    def _checked_out(self, version: str, location: str) -> Iterator[tuple[Path, Path, Path,
                                                                          Path]]:
        release = self._release(version)
        files = self._files(version, location)
        tmp = Path(tempfile.mkdtemp(prefix="mlsec_lab13_check_"))
        try:
            folder = tmp / version
            folder.mkdir()
            for name, data in files.items():
                (folder / name).write_bytes(data)
            (tmp / "manifest.json").write_bytes(release.manifest)
            (tmp / "release.sig").write_bytes(release.signature)
            (tmp / "team.pub").write_bytes(self.public_key)
            yield folder, tmp / "manifest.json", tmp / "release.sig", tmp / "team.pub"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def check(self, version: str, location: str):
        """Check the files of ``version`` at ``location`` against the team's manifest and
        signature: returns ``(ManifestCheck, SignatureCheck)`` (lab 11)."""
        from ..supplychain import check_manifest, verify_signature

        with self._checked_out(version, location) as (folder, manifest, signature, public):
            return check_manifest(folder, manifest), verify_signature(folder, public, signature)

    def verified(self, version: str, location: str) -> bool:
        """True when the files of ``version`` at ``location`` match the team's manifest and
        signature."""
        manifest, signature = self.check(version, location)
        return bool(manifest.ok and signature.ok)

    def load(self, version: str, location: str):
        """Load ``version`` from ``location`` only if it verifies (lab 11's
        ``verify_then_load``, the allow-list of ``TRUSTED_TYPES``); a copy that does not verify
        raises lab 11's ``RefusedToLoad`` before a byte of it is parsed."""
        from ..supplychain import TRUSTED_TYPES, verify_then_load

        release = self._release(version)
        with self._checked_out(version, location) as (folder, manifest, signature, public):
            return verify_then_load(folder, manifest=manifest, signature=signature,
                                    public_key=public,
                                    trusted=TRUSTED_TYPES.get(release.domain, ()))

    def roll_back(self, candidates: Sequence[tuple[str, str]]) -> Rollback:
        """Roll back: try the ``(version, location)`` candidates in order (newest first) and
        load the first that verifies (:meth:`load`); every candidate tried is checked against
        the team's manifest and signature and the result recorded. Returns a
        :class:`Rollback` (``system`` None when none verified)."""
        from ..supplychain import RefusedToLoad

        if isinstance(candidates, str | tuple) and candidates and isinstance(candidates[0], str):
            raise ArgumentTypeError("candidates must be a sequence of (version, location) pairs")
        attempts = []
        for pair in candidates:
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise ArgumentTypeError(f"each candidate must be a (version, location) pair, "
                                        f"got {pair!r}")
            version, location = pair
            manifest, signature = self.check(version, location)
            manifest_text = "verified" if manifest.ok else "FAILED: changed " + ", ".join(
                manifest.changed + manifest.missing + manifest.added)
            signature_text = "verified" if signature.ok else f"REJECTED: {signature.reason}"
            try:
                system = self.load(version, location)
            except RefusedToLoad:
                attempts.append(RollbackAttempt(version, location, manifest_text,
                                                signature_text, False))
                continue
            attempts.append(RollbackAttempt(version, location, manifest_text, signature_text,
                                            True))
            return Rollback(tuple(attempts), version, location, system)
        return Rollback(tuple(attempts), None, None, None)

    # -- what the store holds --

    def frame(self) -> pd.DataFrame:
        """Every copy: version, location, the first 12 hex digits of each file's SHA-256, and
        whether it verifies against the team's signature."""
        import hashlib

        rows = []
        for (version, location), files in sorted(self._copies.items()):
            rows.append({"version": version, "location": location,
                         "files": ", ".join(f"{n} {hashlib.sha256(b).hexdigest()[:12]}"
                                            for n, b in sorted(files.items())),
                         "verifies": self.verified(version, location)})
        return pd.DataFrame(rows, columns=["version", "location", "files", "verifies"])

    def releases(self) -> tuple[str, ...]:
        """The published versions, oldest first."""
        return tuple(self._releases)

    def _release(self, version: str) -> Release:
        return self._releases[check_choice(version, list(self._releases), "version")]

    @staticmethod
    def _location(location: str) -> str:
        return check_choice(location, LOCATIONS, "location")

    def _locations(self, locations: Sequence[str]) -> tuple[str, ...]:
        if isinstance(locations, str):
            raise ArgumentTypeError("locations must be a sequence of location names")
        return tuple(self._location(loc) for loc in locations)

    def _files(self, version: str, location: str) -> dict[str, bytes]:
        self._release(version)
        location = self._location(location)
        if (version, location) not in self._copies:
            raise ValueError(f"no copy of {version!r} at {location!r}")
        return self._copies[(version, location)]

    def __repr__(self) -> str:
        return (f"ModelStore(signer={self.signer!r}, releases={list(self._releases)}, "
                f"{len(self._copies)} copies)")


# --- respond: throttle an account, replay traffic -----------------------------------------------


class AccountThrottle:
    """The response's switch inside lab 12's API: a hook for ``build_app(detector=...)``
    (called after authentication, the per-key rate limit and validation; a true answer refuses
    the request with 429). Every key of a throttled account, including keys issued after the
    throttle, shares one token bucket (lab 12's ``TokenBucket``) of ``rate_per_s`` and
    ``burst``, charged one token per patient. ``base`` (optional) is another hook asked first
    (e.g. lab 12's ``BoundaryShareDetector``).

    Introduced in lab 13 (Monitoring and response).
    """

    def __init__(self, clock: Callable[[], float], *, rate_per_s: float, burst: float = 1.0,
                 base: Callable | None = None):
        if not callable(clock):
            raise ArgumentTypeError("clock must be a function answering the time in seconds")
        if base is not None and not callable(base):
            raise ArgumentTypeError("base must be a detector hook (principal, system, features)")
        self.clock = clock
        self.rate_per_s = check_positive(rate_per_s, "rate_per_s")
        self.burst = check_number(burst, "burst", low=1.0)
        self.base = base
        self._buckets: dict[str, object] = {}
        self.refused: Counter = Counter()
        """Refused requests per account."""

    def throttle(self, account: str) -> None:
        """Throttle every key of ``account`` (its principal name) from now on."""
        from ..apisec.common import TokenBucket

        account = check_str(account, "account")
        if account not in self._buckets:
            self._buckets[account] = TokenBucket(self.rate_per_s, self.burst, self.clock)

    @property
    def throttled(self) -> tuple[str, ...]:
        """The throttled accounts."""
        return tuple(self._buckets)

    def __call__(self, principal, system: str, features) -> bool:
        """True to refuse this prediction (429), False to serve it."""
        name = getattr(principal, "name", None)
        if not isinstance(name, str):
            raise ArgumentTypeError("principal must carry a name (a lab 12 Principal), got "
                                    f"{type(principal).__name__}")
        if self.base is not None and self.base(principal, system, features):
            self.refused[name] += 1
            return True
        bucket = self._buckets.get(name)
        if bucket is None:
            return False
        rows = len(features) if hasattr(features, "__len__") else 1
        if bucket.allow(max(rows, 1)):
            return False
        self.refused[name] += 1
        return True


def replay(client, requests: pd.DataFrame, X, api_keys: Mapping[str, str], clock, *,
           seconds: float = 3600.0, system: str = "medical") -> pd.DataFrame:
    """Send ``requests`` (one row per request, in order, with a ``key`` column naming the key
    each was sent with, and any other columns to keep) through ``client`` (lab 12's
    ``api_client``), one patient per request (row ``i`` of ``X``), each with the raw API key
    ``api_keys[key]``, advancing ``clock`` (a lab 12 ``ManualClock``) by ``seconds /
    len(requests)`` before each. Returns ``requests`` with ``status`` (the HTTP status) and
    ``label`` (the diagnosis answered, -1 when refused) added.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(requests, pd.DataFrame) or "key" not in requests.columns:
        raise ValueError("requests must be a DataFrame with a 'key' column")
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    if len(X) != len(requests):
        raise ValueError(f"X has {len(X)} rows for {len(requests)} requests")
    if not len(requests):
        raise ValueError("requests is empty")
    missing = sorted(set(requests["key"]) - set(api_keys))
    if missing:
        raise ValueError(f"no raw API key for {missing}")
    if not hasattr(clock, "advance"):
        raise ArgumentTypeError("clock must be a lab 12 ManualClock (with advance)")
    seconds = check_positive(seconds, "seconds")
    step = seconds / len(requests)
    statuses, labels = [], []
    for key, row in zip(requests["key"], X, strict=True):
        clock.advance(step)
        answer = client.post(f"/v1/{system}/predict", json={"patients": [row.tolist()]},
                             headers={"X-API-Key": api_keys[key]})
        statuses.append(int(answer.status_code))
        labels.append(int(answer.json()["labels"][0]) if answer.status_code == 200 else -1)
    return requests.assign(status=statuses, label=labels).reset_index(drop=True)
