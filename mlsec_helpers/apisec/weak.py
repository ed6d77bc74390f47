"""The challenge of lab 12: a second, deliberately weak API with one planted flaw.

The clinic portal lets a patient read their own diagnosis; an admin reads everyone's. It has
authentication by API key, object-level checks on the per-patient route and an admin-only list,
so the flaws of the lab's sections are closed. One flaw of another kind is planted (students
find it by pen testing, not by reading this file). :func:`portal_app` builds the portal with
``fixed=True`` to show the repair.

Introduced in lab 12 (API security).
"""

# no `from __future__ import annotations`: FastAPI reads the route's body model from the
# annotation object, which is chosen at run time (fixed or not)
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PortalRecords", "portal_app", "portal_records"]


@dataclass(frozen=True)
class PortalRecords:
    """The portal's data: ``patient_ids`` (int array), ``diagnoses`` (0 benign, 1 malignant),
    ``probabilities`` (the model's probability of malignant), one per patient.

    Introduced in lab 12 (API security).
    """

    patient_ids: np.ndarray
    diagnoses: np.ndarray
    probabilities: np.ndarray

    def __len__(self) -> int:
        return len(self.patient_ids)


def portal_records(n_patients: int = 40, *, seed: int = 0) -> PortalRecords:
    """``n_patients`` synthetic patients with random six-digit ids, diagnoses and
    probabilities, drawn with ``seed`` (no real patient's data is involved).

    Introduced in lab 12 (API security).
    """
    if not isinstance(n_patients, int | np.integer) or n_patients < 2:
        raise ValueError(f"n_patients must be an integer of at least 2, got {n_patients!r}")
    gen = np.random.default_rng(seed)
    ids = gen.choice(np.arange(100_000, 1_000_000), size=n_patients, replace=False)
    diagnoses = (gen.random(n_patients) < 0.37).astype(int)
    proba = np.clip(np.where(diagnoses == 1, gen.beta(6, 2, n_patients),
                             gen.beta(2, 6, n_patients)), 0.001, 0.999).round(3)
    return PortalRecords(ids, diagnoses, proba)


class _ProfileUpdate(BaseModel):
    """What a patient may change about their profile."""

    display_name: str = Field(min_length=1, max_length=40)


class _StrictProfileUpdate(_ProfileUpdate):
    model_config = ConfigDict(extra="forbid")


class _LenientProfileUpdate(_ProfileUpdate):
    model_config = ConfigDict(extra="allow")


def portal_app(records: PortalRecords, *, fixed: bool = False,
               key_seed: int | None = None) -> tuple[FastAPI, dict[int, str]]:
    """Build the clinic portal over ``records``. Returns the app and the API key of every
    patient (``{patient_id: key}``); one admin key exists too and is never returned. With
    ``fixed=True`` the planted flaw is repaired. Keys are random (``secrets``) unless
    ``key_seed`` is given.

    Routes: ``GET /v2/health``; ``GET /v2/me`` (the caller's profile); ``PATCH /v2/me`` (change
    the display name); ``GET /v2/patients/{patient_id}/result`` (the caller's own result only);
    ``GET /v2/admin/results`` (every patient's result, admins only). Authentication:
    ``X-API-Key``.

    Introduced in lab 12 (API security).
    """
    if not isinstance(records, PortalRecords):
        raise TypeError("records must come from portal_records()")
    if not isinstance(fixed, bool):
        raise TypeError(f"fixed must be True or False, got {fixed!r}")
    gen = np.random.default_rng(key_seed) if key_seed is not None else None

    def new_key() -> str:
        return (gen.bytes(24).hex() if gen is not None else secrets.token_hex(24))

    def digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    profiles: dict[str, dict] = {}  # key digest -> profile (keys themselves are not stored)
    keys: dict[int, str] = {}
    for pid in records.patient_ids.tolist():
        key = new_key()
        keys[int(pid)] = key
        profiles[digest(key)] = {"display_name": f"patient {pid}", "role": "patient",
                                 "patient_id": int(pid)}
    profiles[digest(new_key())] = {"display_name": "records office", "role": "admin",
                                   "patient_id": None}
    results = {int(p): {"patient_id": int(p), "diagnosis": int(d), "probability": float(q)}
               for p, d, q in zip(records.patient_ids, records.diagnoses,
                                  records.probabilities, strict=True)}

    app = FastAPI(title="Clinic portal", version="2.0",
                  description="Patients read their own diagnosis; the records office reads all.")

    def caller(x_api_key: Annotated[str | None, Header()] = None) -> dict:
        if x_api_key is None:
            raise HTTPException(401, "missing API key")
        wanted = digest(x_api_key)
        for known, profile in profiles.items():
            if hmac.compare_digest(known, wanted):
                return profile
        raise HTTPException(401, "unknown API key")

    @app.get("/v2/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/v2/me")
    def me(profile: Annotated[dict, Depends(caller)]) -> dict:
        return {"display_name": profile["display_name"], "role": profile["role"],
                "patient_id": profile["patient_id"]}

    update_model = _StrictProfileUpdate if fixed else _LenientProfileUpdate

    @app.patch("/v2/me")
    def update_me(update: update_model, profile: Annotated[dict, Depends(caller)]) -> dict:
        # the planted flaw (unless fixed): every field of the body is copied onto the profile
        profile.update(update.model_dump())
        return {"display_name": profile["display_name"]}

    @app.get("/v2/patients/{patient_id}/result")
    def result(patient_id: int, profile: Annotated[dict, Depends(caller)]) -> dict:
        if profile["role"] != "admin" and profile["patient_id"] != patient_id:
            raise HTTPException(403, "you may read only your own result")
        if patient_id not in results:
            raise HTTPException(404, "no such patient")
        return results[patient_id]

    @app.get("/v2/admin/results")
    def all_results(profile: Annotated[dict, Depends(caller)]) -> list[dict]:
        if profile["role"] != "admin":
            raise HTTPException(403, "admins only")
        return list(results.values())

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    return app, keys
