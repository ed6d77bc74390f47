"""API security and access control for model serving (lab 12).

Introduced in lab 12 (API security). The five systems served by one FastAPI application whose
security controls are switches (:class:`SecurityConfig`): the weak configuration and the
hardened one differ only in them. Authentication by API key and JWT (PyJWT), role-based and
object-level authorisation, a per-principal token bucket, body-size limits that also count
chunked bodies, strict pydantic validation with an error handler that never echoes inputs, an
audit log without personal data; a real uvicorn server on 127.0.0.1; the pen test (plan from
lab 01's threat models, cases, results); a schemathesis fuzz; lab 04's theft against the
hardened API and a detector that looks across keys; the challenge's clinic portal.

==============================  =================================================  ============
piece                           what it does                                       library
==============================  =================================================  ============
the app                         routes, dependencies, middleware, validation       FastAPI,
                                                                                   pydantic
tokens                          HS256 JSON Web Tokens, pinned algorithm            PyJWT
the server                      real HTTP on a free port of 127.0.0.1              uvicorn
in-process client               HTTP requests without a socket                     starlette,
                                                                                   httpx
fuzzing                         requests generated from the OpenAPI schema         schemathesis
token bucket, audit log         per-principal limits; who, what, when, outcome     by hand
==============================  =================================================  ============

The token bucket and the audit log are written here. FastAPI has no rate limiter of its own;
slowapi and limits read the wall clock, fastapi-limiter needs Redis, and pyrate-limiter
(installed with schemathesis) counts requests in sliding windows instead of refilling a bucket.
The lab's bucket is a few lines on an injected clock, so its numbers do not depend on the
machine's speed.

Where the code of each part of the lab lives (the lab calls ``apisec.name`` for all of them):

- every part, ``common.py``: :data:`ANONYMOUS`, :func:`api_client`, :data:`API_PREFIX`,
  :class:`AuditLog`, :class:`AuthError`, :func:`build_app`, :func:`config_table`,
  :class:`Forbidden`, :func:`forge_token`, :func:`keyed_digest`, :class:`KeyStore`,
  :class:`ManualClock`, :func:`outcome_of`, :class:`Principal`, :class:`RateLimiter`,
  :func:`reference_apis`, :class:`ReferenceAPIs`, :data:`ROLES`, :func:`route_table`,
  :class:`SecurityConfig`, :func:`served_system`, :class:`ServedSystem`, :class:`TokenBucket`,
  :class:`TokenIssuer`; ``server.py``: :class:`LocalServer`, :func:`port_is_open`;
  ``pentest.py``: :data:`API_ENTRY_POINT`, :data:`CATEGORY_TESTS`, :func:`pentest_plan`,
  :class:`PenTestCase`, :func:`run_pentest`, :data:`SECTIONS`; ``figures.py``:
  :func:`api_threat_diagram`.
- image (authentication), ``image.py``: :func:`adaptive_credential_attacks`,
  :func:`auth_pentest_cases`, :func:`crack_token_secret`, :func:`credential_attacks`,
  :func:`honest_digit_traffic`, :data:`SECRET_WORDLIST`, :func:`token_parts`,
  :func:`trials_table`.
- NLP (size limits, what a user may see), ``nlp.py``: :func:`admin_data_leaked`,
  :class:`APIRefused`, :class:`APITextClassifier`, :func:`attempt_table`, :class:`BodyResult`,
  :func:`has_scores`, :func:`json_body`, :func:`oversized_texts`, :func:`read_claims`,
  :func:`scores_bypass_cases`, :func:`send_body`, :func:`served_labels`, :func:`stream_chunks`,
  :func:`text_validation_cases`.
- recommender (object-level authorisation, the audit log), ``recommender.py``:
  :func:`admin_route_cases`, :func:`bola_cases`, :func:`encode_user_id`,
  :func:`enumerate_lists`, :func:`id_encoding_cases`, :data:`ID_ENCODINGS`,
  :func:`key_activity`, :func:`linked_requests`, :func:`list_leaked`,
  :func:`personal_data_check`, :func:`plain_pseudonym`, :func:`pseudonym_reversal`,
  :func:`recommendations_path`, :func:`request_seen`.
- fraud (validation, the NaN bug, fuzzing), ``fraud.py``: :func:`absurd_fraud_bodies`,
  :data:`ABSURD_FRAUD_KINDS`, :func:`api_fraud_evasion`, :class:`ApiDecisions`,
  :class:`ApiEvasion`, :func:`fraud_pentest_cases`, :data:`FRAUD_PREDICT_PATH`,
  :func:`malformed_input_trial`, :class:`MalformedTrial`, :func:`nonfinite_fraud_bodies`,
  :data:`NONFINITE_FRAUD_CASES`, :func:`send_fraud_body`; ``fuzz.py``: :func:`fuzz_findings`,
  :data:`FUZZ_MODES`, :data:`FUZZ_MUTATIONS`, :func:`fuzz_operation`, :class:`FuzzReport`,
  :func:`mutate_numbers`.
- medical (theft through the API, the detector), ``medical.py``: :class:`ApiThief`,
  :func:`clinic_day`, :class:`ClinicDay`, :class:`ClinicTraffic`, :class:`DirectTransport`,
  :func:`fit_label_copy`, :class:`HttpTransport`, :func:`keys_needed`, :class:`LabelCopy`,
  :func:`line_search_query_count`, :func:`rate_limit_sweep`, :class:`Reply`,
  :class:`ThiefStopped`, :class:`TrafficSim`; ``detect.py``: :class:`BoundaryCalibration`,
  :class:`BoundaryShareDetector`, :func:`calibrate_boundary_detector`, :func:`day_alarms`,
  :func:`near_boundary`, :func:`rolling_counts`.
- the challenge, ``weak.py``: :func:`portal_app`, :func:`portal_records`,
  :class:`PortalRecords`.
- ``results.py``: the result dataclasses.
"""

from __future__ import annotations

from .common import (
    ANONYMOUS,
    API_PREFIX,
    ROLES,
    AuditLog,
    AuthError,
    Forbidden,
    KeyStore,
    ManualClock,
    Principal,
    RateLimiter,
    ReferenceAPIs,
    SecurityConfig,
    ServedSystem,
    TokenBucket,
    TokenIssuer,
    api_client,
    build_app,
    config_table,
    forge_token,
    keyed_digest,
    outcome_of,
    reference_apis,
    route_table,
    served_system,
)
from .detect import (
    BoundaryCalibration,
    BoundaryShareDetector,
    calibrate_boundary_detector,
    day_alarms,
    near_boundary,
    rolling_counts,
)
from .figures import (
    api_threat_diagram,
)
from .fraud import (
    ABSURD_FRAUD_KINDS,
    FRAUD_PREDICT_PATH,
    NONFINITE_FRAUD_CASES,
    ApiDecisions,
    ApiEvasion,
    MalformedTrial,
    absurd_fraud_bodies,
    api_fraud_evasion,
    fraud_pentest_cases,
    malformed_input_trial,
    nonfinite_fraud_bodies,
    send_fraud_body,
)
from .fuzz import (
    FUZZ_MODES,
    FUZZ_MUTATIONS,
    FuzzReport,
    fuzz_findings,
    fuzz_operation,
    mutate_numbers,
)
from .image import (
    SECRET_WORDLIST,
    adaptive_credential_attacks,
    auth_pentest_cases,
    crack_token_secret,
    credential_attacks,
    honest_digit_traffic,
    token_parts,
    trials_table,
)
from .medical import (
    ApiThief,
    ClinicDay,
    ClinicTraffic,
    DirectTransport,
    HttpTransport,
    LabelCopy,
    Reply,
    ThiefStopped,
    TrafficSim,
    clinic_day,
    fit_label_copy,
    keys_needed,
    line_search_query_count,
    rate_limit_sweep,
)
from .nlp import (
    APIRefused,
    APITextClassifier,
    BodyResult,
    admin_data_leaked,
    attempt_table,
    has_scores,
    json_body,
    oversized_texts,
    read_claims,
    scores_bypass_cases,
    send_body,
    served_labels,
    stream_chunks,
    text_validation_cases,
)
from .pentest import (
    API_ENTRY_POINT,
    CATEGORY_TESTS,
    SECTIONS,
    PenTestCase,
    pentest_plan,
    run_pentest,
)
from .recommender import (
    ID_ENCODINGS,
    admin_route_cases,
    bola_cases,
    encode_user_id,
    enumerate_lists,
    id_encoding_cases,
    key_activity,
    linked_requests,
    list_leaked,
    personal_data_check,
    plain_pseudonym,
    pseudonym_reversal,
    recommendations_path,
    request_seen,
)
from .results import (
    AttackTrial,
    SecretSearch,
)
from .server import (
    LocalServer,
    port_is_open,
)
from .weak import (
    PortalRecords,
    portal_app,
    portal_records,
)

__all__ = [
    "ABSURD_FRAUD_KINDS",
    "ANONYMOUS",
    "APIRefused",
    "APITextClassifier",
    "API_ENTRY_POINT",
    "API_PREFIX",
    "ApiDecisions",
    "ApiEvasion",
    "ApiThief",
    "AttackTrial",
    "AuditLog",
    "AuthError",
    "BodyResult",
    "BoundaryCalibration",
    "BoundaryShareDetector",
    "CATEGORY_TESTS",
    "ClinicDay",
    "ClinicTraffic",
    "DirectTransport",
    "FRAUD_PREDICT_PATH",
    "FUZZ_MODES",
    "FUZZ_MUTATIONS",
    "Forbidden",
    "FuzzReport",
    "HttpTransport",
    "ID_ENCODINGS",
    "KeyStore",
    "LabelCopy",
    "LocalServer",
    "MalformedTrial",
    "ManualClock",
    "NONFINITE_FRAUD_CASES",
    "PenTestCase",
    "PortalRecords",
    "Principal",
    "ROLES",
    "RateLimiter",
    "ReferenceAPIs",
    "Reply",
    "SECRET_WORDLIST",
    "SECTIONS",
    "SecretSearch",
    "SecurityConfig",
    "ServedSystem",
    "ThiefStopped",
    "TokenBucket",
    "TokenIssuer",
    "TrafficSim",
    "absurd_fraud_bodies",
    "adaptive_credential_attacks",
    "admin_data_leaked",
    "admin_route_cases",
    "api_client",
    "api_fraud_evasion",
    "api_threat_diagram",
    "attempt_table",
    "auth_pentest_cases",
    "bola_cases",
    "build_app",
    "calibrate_boundary_detector",
    "clinic_day",
    "config_table",
    "crack_token_secret",
    "credential_attacks",
    "day_alarms",
    "encode_user_id",
    "enumerate_lists",
    "fit_label_copy",
    "forge_token",
    "fraud_pentest_cases",
    "fuzz_findings",
    "fuzz_operation",
    "has_scores",
    "honest_digit_traffic",
    "id_encoding_cases",
    "json_body",
    "key_activity",
    "keyed_digest",
    "keys_needed",
    "line_search_query_count",
    "linked_requests",
    "list_leaked",
    "malformed_input_trial",
    "mutate_numbers",
    "near_boundary",
    "nonfinite_fraud_bodies",
    "outcome_of",
    "oversized_texts",
    "pentest_plan",
    "personal_data_check",
    "plain_pseudonym",
    "port_is_open",
    "portal_app",
    "portal_records",
    "pseudonym_reversal",
    "rate_limit_sweep",
    "read_claims",
    "recommendations_path",
    "reference_apis",
    "request_seen",
    "rolling_counts",
    "route_table",
    "run_pentest",
    "scores_bypass_cases",
    "send_body",
    "send_fraud_body",
    "served_labels",
    "served_system",
    "stream_chunks",
    "text_validation_cases",
    "token_parts",
    "trials_table",
]
