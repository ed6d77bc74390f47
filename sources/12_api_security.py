# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 12 · API security: who may ask the model what, how often, and with what
#
# Every system of this course reaches its users through an API, and every attack of labs 02-06
# arrives through one: the thief's queries, the membership test, the adversarial input. The API
# is also an attack surface of its own: forged tokens, other users' data one id away, bodies
# large enough to stall a server, numbers that crash the error handler. This lab serves the
# five systems with a real FastAPI application, attacks a weak configuration, hardens it one
# control at a time, and pen-tests the result the way a security team would: a plan derived
# from the threat model, each case with the status it must get, and an attacker who adapts.
#
# **Learning objectives.** After this lab you can
# 1. authenticate API clients with keys and JSON Web Tokens and say why `alg=none`, guessable
#    secrets and missing expiry break authentication;
# 2. authorise by role and by object (a user reads only their own data) and deny by default;
# 3. limit what a request may cost: body size (also for chunked bodies), batch size and a
#    per-principal token bucket;
# 4. validate numbers (finite, in range) without letting the error handler leak or crash, and
#    fuzz an API from its OpenAPI schema;
# 5. keep an audit log that answers "who did what when" without storing personal data;
# 6. measure what per-key limits miss against a thief who spreads its queries over keys and
#    time, and what a detector that looks across keys adds.
#
# **Prerequisites:** lab 01 (threat models) and lab 04 (model theft); HTTP at the level of
# "a request has a method, a path, headers and a body; a response has a status code".
# **Estimated time:** about 255 minutes of reading, exercises and questions (estimated from
# the notebook; the notebook itself runs in under a minute).
#
# **Network.** Everything runs on this machine: the API is called in-process (an ASGI client)
# and through a real server that the lab starts on 127.0.0.1 on a free port and stops at the
# end. Nothing leaves the machine.


# %%
import dataclasses
import json
import time

import httpx
import jwt
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import Markdown, display

from mlsec_helpers import (
    apisec,
    catalogue,
    claims,
    evasion,
    extraction,
    frameworks,
    fraud_sim,
    plots,
    repro,
    stats,
    threatmodel,
)
from mlsec_helpers.checks import lab12
from mlsec_helpers.exercises import check, grade

info = repro.setup(seed=0)  # seeds python, numpy and torch; caps threads; picks the device
seed = info["seed"]
print(info)
display(Markdown(frameworks.lab_header_markdown(12)))
SUMMARY = {}  # one row per domain, for the summary at the end
PENTEST = []  # each section appends its pen-test table (a DataFrame from apisec.run_pentest)


# %% [markdown]
# ## The threat in one picture
#
# A request passes the API's checks in order, and each check refuses with its own status code:
# 413 for a body too large, 401 for a caller who cannot prove who they are, 403 for a caller
# who may not do this, 429 for too many requests, 422 for input the model must not see. The
# order matters: the cheap checks run first, and the model runs only for a request that passed
# all of them. Every request, refused or served, lands in the audit log. A check that crashes
# instead of refusing answers 500, which is a finding in itself: the pen test must never see one.


# %%
apisec.api_threat_diagram()


# %% [markdown]
# ## 0 · The API and the pen-test plan
#
# One application serves all five systems. It is built by one function from one configuration:
# every security control is a switch, so the weak API and the hardened API run the same code and
# differ only in their switches. Whatever the lab shows between the two is the effect of a
# switch, not of a rewrite.
#
# The five models are lab 00's reference systems; the lab's seed draws the API keys, the token
# secret and the test inputs each section sends.

# %%
api_t0 = time.perf_counter()

api_bundle = apisec.reference_apis(seed)
# The fraud scorer (lab 00's gradient-boosted trees) takes seconds to train: start it now in a
# background thread, so it is ready when section 4 needs it.
api_warm = api_bundle.warm_up(("fraud",), background=True)
api_switches = apisec.config_table(weak=apisec.SecurityConfig.weak(),
                                       hardened=apisec.SecurityConfig.hardened())
display(plots.table(api_switches, caption="The switches of the two configurations "
                    "(same application code)"))
print(f"built in {time.perf_counter() - api_t0:.1f} s: {len(api_bundle.served)} systems, "
      f"{len(api_bundle.keys)} API keys, a shared clock at t = {api_bundle.clock():.0f} s")

# %% [markdown]
# ### The routes
#
# Every system has a predict route and a model-download route; a token route exchanges an API
# key for a short-lived JSON Web Token; the recommender has one route per user. A caller proves
# who they are with the header `X-API-Key` or `Authorization: Bearer <token>`.

# %%
api_routes = apisec.route_table(api_bundle.hardened_app)
display(plots.table(api_routes, caption=f"The {len(api_routes)} routes of the hardened API"))

# %% [markdown]
# ### Real HTTP
#
# The sections call the API in-process (an ASGI client: the same application, no socket). Here
# it also runs as a real server, uvicorn on 127.0.0.1 on a port the operating system picks.
# It stays up until the end of the lab, which stops it and checks that the port is closed.
# One request with a valid key and one without, through a real TCP connection:

# %%
api_server = apisec.LocalServer(api_bundle.hardened_app).start()
api_digit = api_bundle.served["image"].test_body(1)
with httpx.Client(base_url=api_server.url, trust_env=False, timeout=10) as api_http:
    api_reply = api_http.post("/v1/image/predict", json=api_digit,
                              headers=api_bundle.headers("user"))
    api_refused = api_http.post("/v1/image/predict", json=api_digit)
api_exchange = pd.DataFrame(
    [{"request": "POST /v1/image/predict with X-API-Key", "status": api_reply.status_code,
      "response headers": "; ".join(f"{k}: {v}" for k, v in api_reply.headers.items()),
      "body": api_reply.text},
     {"request": "POST /v1/image/predict without a key", "status": api_refused.status_code,
      "response headers": "; ".join(f"{k}: {v}" for k, v in api_refused.headers.items()),
      "body": api_refused.text}])
display(plots.table(api_exchange, caption=f"Two requests to {api_server.url} "
                    f"({api_reply.http_version})"))
claims.claim("the real server answers a valid key with 200", api_reply.status_code,
             at_least=200, at_most=200)
claims.claim("the real server refuses a request without a key with 401",
             api_refused.status_code, at_least=401, at_most=401)
claims.claim("the real server listens on its port", float(apisec.port_is_open(api_server.port)),
             at_least=1.0)

# %% [markdown]
# The user's answer holds a label and no probabilities: on the hardened API raw scores are for
# admins only (section 2). The refusal carries `www-authenticate: Bearer`, the standard hint of
# how to authenticate, and nothing about why the request failed beyond one line.
#
# ### The pen-test plan, from lab 01's threat models
#
# A pen test starts from a plan, not from a list of tricks. Lab 01 gave each system a threat
# model; the threats whose entry point is the serving API (E5), and model theft, which also
# goes through the API's download route, are the ones this lab can test. For each, the plan
# names the controls that treat it, the cases that show the controls working, and the status
# each case must get. One extra row per system covers what every API threat needs first: a
# principal.

# %%
api_plan = apisec.pentest_plan(threatmodel.reference_models())
display(plots.table(api_plan, caption=f"The pen-test plan: {len(api_plan)} rows from lab 01's "
                    "threat models"))
api_plan_counts = api_plan.groupby("system", sort=False).size()
print("rows per system: " + ", ".join(f"{d} {n}" for d, n in api_plan_counts.items())
      + f"; section time {time.perf_counter() - api_t0:.1f} s")
claims.claim("the plan covers all five systems", api_plan["system"].nunique(), at_least=5)
claims.claim("every system has at least one threat through its API besides authentication",
             int((api_plan[api_plan["category"] != "authentication"]
                  .groupby("system").size() >= 1).sum()), at_least=5)

# %% [markdown]
# Each section below runs its part of the plan against the real application and appends its
# rows to `PENTEST`; the end of the lab puts them together into the pen-test report.


# %% [markdown]
# ## 1 · Image: authentication (keys, JWT, forged tokens)
#
# The bank's branch software sends scanned cheque digits to the cheque-reading API
# (`POST /v1/image/predict`). Lab 01 put this API at entry point E5 with "account" access: only
# the bank's own clients may call it. Every request must therefore prove who sends it, in one
# of two ways:
#
# - an **API key**: a long random secret that the server looks up in its store (which keeps
#   only a keyed hash of it), so the server can revoke a key at once;
# - a **JSON Web Token** (JWT), bought with a key from `POST /v1/token`: a signed statement
#   ("this is alice, role user, valid until 15 minutes from now") that the server checks with
#   its secret, without a lookup.
#
# Anyone who holds a token can read it: a JWT is signed, not encrypted. Here is the weak API's
# token for the user alice, taken apart:

# %%
img_t0 = time.perf_counter()
img_served = api_bundle.served["image"]
img_weak = apisec.api_client(api_bundle.weak_app)
img_hard = apisec.api_client(api_bundle.hardened_app)
img_n_attack, img_n_honest = 15, 40  # digits per attack kind; digits per honest run
img_rng = np.random.default_rng(seed)
img_idx = img_rng.choice(len(img_served.data.X_test), size=img_n_attack + img_n_honest,
                         replace=False)
img_bodies = [img_served.test_body(1, int(i)) for i in img_idx]
img_labels = img_served.system.predict(img_served.data.X_test[img_idx])  # the local answers
img_attack_bodies, img_honest_bodies = img_bodies[:img_n_attack], img_bodies[img_n_attack:]
img_honest_labels = img_labels[img_n_attack:]

img_token = img_weak.post("/v1/token", headers=api_bundle.headers("user")).json()
img_parts = apisec.token_parts(img_token["access_token"])
display(plots.table(pd.DataFrame(
    [{"part": "header", "content": json.dumps(img_parts["header"])},
     {"part": "claims", "content": json.dumps(img_parts["claims"])},
     {"part": "signature", "content": f"{img_parts['signature_bytes']} bytes of HMAC-SHA256"}]),
    caption=f"A token of the weak API (it lives {img_token['expires_in'] // 86400} days)"))

# %% [markdown]
# ### The attacks on the weak API
#
# An attacker who has no valid credential of their own tries six things, each on the same
# test digits: no key; a wrong key; the key of a user who left and was revoked; a token stolen
# from a log that expired a minute ago; a token they wrote themselves with `"alg": "none"` (no
# signature) claiming to be an admin; and an admin token signed with the secret they recovered
# offline from their own token with a small wordlist. A request counts as a success when the
# API serves it.

# %%
img_weak_trials = apisec.credential_attacks(api_bundle, img_weak, img_attack_bodies,
                                               api="weak", seed=seed)
display(plots.table(apisec.trials_table(img_weak_trials),
                    caption=f"Credential attacks on the weak API, {img_n_attack} test digits "
                    "each"))
img_forged_kinds = ("revoked key", "expired token", "forged alg=none token",
                    "token signed with a guessed secret")


def img_combined(trials, kinds, on):
    picked = [t for t in trials if t.attack in kinds]
    return stats.proportion(sum(t.served for t in picked), sum(t.n for t in picked), on=on)


img_on = (f"{len(img_forged_kinds) * img_n_attack} requests with forged or stolen "
          f"credentials ({len(img_forged_kinds)} kinds x {img_n_attack} test digits)")
img_success_weak = img_combined(img_weak_trials, img_forged_kinds, img_on)
img_crack = apisec.crack_token_secret(img_token["access_token"])
print(f"forged or stolen credentials served by the weak API: {img_success_weak}")
print(f"the weak secret: {img_crack.found!r}, found offline after {img_crack.tried} of "
      f"{len(apisec.SECRET_WORDLIST)} words")
claims.claim("image: the weak API serves forged and stolen credentials",
             img_success_weak.low, at_least=0.85)
claims.claim("image: the weak API still refuses a missing or wrong key",
             sum(t.served for t in img_weak_trials if t.attack in ("no key", "wrong key")),
             at_most=0)

# %% [markdown]
# The weak API checks that a key exists, and that is all it checks. It never looks at the
# revocation list again, never compares `exp` with the clock, believes a token that says
# `"alg": "none"`, and signs its tokens with `secret`, which is in every wordlist. The forged
# token below carries no signature at all, and the weak API serves it as an admin:

# %%
img_forged = apisec.forge_token(
    {"iss": api_bundle.weak_tokens.issuer, "aud": api_bundle.weak_tokens.audience,
     "sub": "mallory", "role": "admin", "key": api_bundle.principal("admin").key_id,
     "iat": int(api_bundle.clock()), "exp": int(api_bundle.clock()) + 3600}, alg="none")
img_forged_reply = img_weak.get("/v1/image/model",
                                headers={"Authorization": f"Bearer {img_forged}"})
print(f"forged token: {img_forged[:60]}...{img_forged[-12:]}")
print(f"GET /v1/image/model with it on the weak API: {img_forged_reply.status_code}, "
      f"{len(img_forged_reply.content):,} bytes of model weights")
claims.claim("image: a forged alg=none token downloads the weak API's model",
             img_forged_reply.status_code, at_least=200, at_most=200)

# %% [markdown]
# ### Exercise 1 · A token verifier
#
# Write `verify_token(token, secret)`: verify a JSON Web Token signed with HS256 and the shared
# `secret` (bytes) and return its claims (a dict). Refuse it, by raising
# `jwt.InvalidTokenError` (or one of its subclasses), when
# - its header names any algorithm other than HS256 (`none` included: the forged token above);
# - its signature does not verify with `secret`;
# - it lacks an `exp` or a `sub` claim;
# - its `exp` has passed (no leeway).
#
# PyJWT (`import jwt`) does the cryptography; your job is to ask it for the right checks.
# Read the documentation of `jwt.decode`: which argument pins the algorithm, and which option
# makes a claim required?


# %%
def verify_token(token, secret):
    ### BEGIN SOLUTION
    return jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    ### END SOLUTION


# %%
### POINTS: 2
verify_token = check(lab12.VERIFY_TOKEN, verify_token)
### BEGIN HIDDEN TESTS
grade(lab12.VERIFY_TOKEN, verify_token)
### END HIDDEN TESTS


# %%
ex1_secret = b"a 64-byte secret for the exercise, not the API's own secret......"
ex1_now = int(time.time())
ex1_tokens = {
    "valid": jwt.encode({"sub": "alice", "role": "user", "exp": ex1_now + 600}, ex1_secret,
                        algorithm="HS256"),
    "alg=none, role admin": jwt.encode({"sub": "alice", "role": "admin", "exp": ex1_now + 600},
                                       None, algorithm="none"),
    "expired": jwt.encode({"sub": "alice", "role": "user", "exp": ex1_now - 60}, ex1_secret,
                          algorithm="HS256"),
}
ex1_rows = []
for ex1_name, ex1_token in ex1_tokens.items():
    try:
        ex1_rows.append({"token": ex1_name,
                         "verdict": f"accepted: {verify_token(ex1_token, ex1_secret)['role']}"})
    except jwt.InvalidTokenError as ex1_err:
        ex1_rows.append({"token": ex1_name, "verdict": f"refused: {type(ex1_err).__name__}"})
display(plots.table(pd.DataFrame(ex1_rows), caption="Your verifier (or the reference) on three "
                    "tokens"))

# %% [markdown]
# ### The hardened API
#
# The hardened API runs the same code with three switches turned and another secret: tokens
# are verified with the algorithm pinned to HS256 and every claim required (`iss`, `aud`,
# `sub`, `exp`, `iat`) instead of trusting `alg: none`, `exp` is compared with the clock, and
# revoked keys and the tokens bought with them are refused; the token secret is 256 random
# bits instead of `secret`. The same six attacks, on the same digits:

# %%
img_hard_trials = apisec.credential_attacks(api_bundle, img_hard, img_attack_bodies,
                                               api="hardened", seed=seed)
display(plots.table(apisec.trials_table(img_hard_trials),
                    caption=f"The same attacks on the hardened API, {img_n_attack} test digits "
                    "each"))
img_success_hard = img_combined(img_hard_trials, img_forged_kinds, img_on)
img_hard_statuses = sorted({code for t in img_hard_trials for code in t.statuses})
print(f"forged or stolen credentials served by the hardened API: {img_success_hard}; "
      f"statuses: {img_hard_statuses}")
claims.claim("image: the hardened API refuses forged and stolen credentials",
             img_success_hard.high, at_most=0.1)
claims.claim("image: every refusal of the hardened API is a 401",
             float(img_hard_statuses == [401]), at_least=1.0)

# %% [markdown]
# ### What it costs honest users
#
# Honest users send test digits, half with their API key and half with a token bought with
# it, a quarter of a second apart on the lab's clock (under the rate limit). An answer counts
# as correct when the API serves it with the label the model gives locally.

# %%
img_honest_weak_trials = apisec.honest_digit_traffic(
    api_bundle, img_weak, img_honest_bodies, img_honest_labels, api="weak")
img_honest_hard_trials = apisec.honest_digit_traffic(
    api_bundle, img_hard, img_honest_bodies, img_honest_labels, api="hardened")
display(plots.table(apisec.trials_table(img_honest_weak_trials + img_honest_hard_trials),
                    caption="Honest users with valid keys and tokens"))
img_honest_on = f"{img_n_honest} test digits sent by honest users (key and token)"
img_honest_weak = img_combined(img_honest_weak_trials, ("honest user, API key",
                                                        "honest user, token"),
                               img_honest_on + ", weak API")
img_honest_hard = img_combined(img_honest_hard_trials, ("honest user, API key",
                                                        "honest user, token"),
                               img_honest_on + ", hardened API")
print(f"served correctly: weak {img_honest_weak}; hardened {img_honest_hard}")
claims.claim("image: the hardened API serves honest users", img_honest_hard.low,
             at_least=0.85)
claims.claim("image: the weak API serves honest users", img_honest_weak.low, at_least=0.85)

# %% [markdown]
# ### The adaptive attacker
#
# This attacker has read the hardened design and tries what is known to break token
# verifiers: `alg: none` spelled `None` or `NONE` (some verifiers compare case-sensitively), a
# switch to HS384 or HS512 (a verifier that takes the algorithm from the token), a `kid` header
# that points to an empty file used as the key, the same wordlist against the 256-bit secret,
# the secret cracked on the weak API, a genuine token kept after its key was revoked, and a
# genuine token with its signature stripped off.

# %%
img_adaptive_trials = apisec.adaptive_credential_attacks(api_bundle, img_hard,
                                                            img_attack_bodies)
display(plots.table(apisec.trials_table(img_adaptive_trials),
                    caption=f"The adaptive attacker against the hardened API, {img_n_attack} "
                    "test digits each"))
img_success_adaptive = stats.proportion(
    sum(t.served for t in img_adaptive_trials), sum(t.n for t in img_adaptive_trials),
    on=f"{sum(t.n for t in img_adaptive_trials)} requests ({len(img_adaptive_trials)} kinds x "
       f"{img_n_attack} test digits), hardened API")
img_strong_crack = apisec.crack_token_secret(
    img_hard.post("/v1/token", headers=api_bundle.headers("user")).json()["access_token"],
    secret_bits=256)
print(f"adaptive attacks served: {img_success_adaptive}")
print(f"wordlist against the hardened secret: {img_strong_crack.tried} words, cracked: "
      f"{img_strong_crack.cracked}; an exhaustive search would need up to 2^256 HMACs")
claims.claim("image: the adaptive attacker gets nothing through the hardened API",
             img_success_adaptive.high, at_most=0.1)

# %% [markdown]
# Every trick fails for the same two reasons: the verifier takes the algorithm from its own
# configuration, never from the token (so `none`, `None`, HS512 and a `kid` header change
# nothing), and a secret of 256 random bits is out of reach of any wordlist. Revocation is the
# exception a stateless token cannot handle alone: the hardened API looks up the token's key id
# in the key store on every request, which costs a lookup but makes revocation immediate.
#
# ### The section's pen-test rows
#
# The plan's authentication row for the image system, plus the theft threat IMG-T3 (a user
# may not download the model), run against the hardened API and checked against its audit log:

# %%
img_pentest_table = apisec.run_pentest(
    img_hard, apisec.auth_pentest_cases(api_bundle, img_attack_bodies[0]),
    audit=api_bundle.hardened_audit)
PENTEST.append(img_pentest_table)
display(plots.table(img_pentest_table, caption="Pen test, image: authentication"))
img_audit = api_bundle.hardened_audit
img_audit_rows = img_audit.frame()
img_audit_rows = img_audit_rows[img_audit_rows["system"] == "image"]
print(f"audit log: {len(img_audit_rows)} image requests so far, outcomes "
      + ", ".join(f"{k} {v}" for k, v in img_audit_rows["outcome"].value_counts().items()))
claims.claim("image: every pen-test case gets its intended status",
             float(img_pentest_table["passed"].all()), at_least=1.0)
claims.claim("image: no pen-test case is answered with a 5xx",
             int(img_pentest_table["server_errors"].sum()), at_most=0)
claims.claim("image: the audit log records every pen-test case",
             float(img_pentest_table["audited"].all()), at_least=1.0)
claims.claim("image: the audit log holds no raw API key or user name",
             float(img_audit.contains(api_bundle.key("user")) or img_audit.contains("alice")),
             at_most=0.0)
print(f"section time: {time.perf_counter() - img_t0:.1f} s")

# %% [markdown]
# ### What changed and why
#
# The attacks did not need the model at all: they went around it, through the check that
# decides who may ask. Three switches and one secret closed them: verify tokens with a pinned
# algorithm and every claim required, compare `exp` with the clock, re-check revocation on
# every request, and sign with a secret that no wordlist holds. Honest users lost nothing they
# could measure
# here. What authentication cannot do is stop a legitimate key from asking too much or seeing
# too much: that is the next sections' work (limits, roles, validation).

# %%
SUMMARY["image"] = {
    "attack": "forged and stolen credentials",
    "success_weak": img_success_weak,
    "success_hardened": img_success_hard,
    "success_adaptive": img_success_adaptive,
    "honest_weak": img_honest_weak,
    "honest_hardened": img_honest_hard,
    "note": ("alg none in other spellings, HS384/HS512, a kid header, a wordlist against a "
             "256-bit secret, token replay after revocation: all 401, the algorithm is pinned "
             "and revocation is checked per request"),
}


# %% [markdown]
# ## 2 · NLP: request size, validation of text, what a user may see
#
# The bank's chatbot passes each customer message to the triage model through the API:
# `POST /v1/nlp/predict` with `{"texts": [...]}`, answered with one label per message (eight
# intents and "scam"). Three questions decide what a caller can make this endpoint do: how
# much one request may carry, what counts as a valid text, and what the answer shows. Lab 01's
# threat model names what comes in here: a flood of chaff messages (NLP-T8), a scammer who
# rewords a message until it is no longer flagged (NLP-T1), a competitor who copies the model
# through its answers (NLP-T3).
#
# ### How much may one request carry?
#
# The weak API reads any body it is sent and classifies every message in it. The hardened API
# refuses a body over `max_body_bytes` with **413** before it authenticates, parses or
# classifies anything. The attack: a body just over the limit, made only of ordinary messages
# (test messages repeated), so that only its size is wrong.

# %%
nlp_t0 = time.perf_counter()

nlp_served = api_bundle.served["nlp"]
nlp_weak = apisec.api_client(api_bundle.weak_app)
nlp_hard = apisec.api_client(api_bundle.hardened_app)
nlp_config = api_bundle.hardened_app.state.config
nlp_user = api_bundle.headers("user")  # the attacker's own, valid user key
nlp_limit = nlp_config.max_body_bytes
nlp_test_texts = [str(t) for t in nlp_served.data.X_test]
nlp_big_texts = apisec.oversized_texts(nlp_test_texts, nlp_limit)
nlp_big = apisec.json_body({"texts": nlp_big_texts})
nlp_size_rows = []
for nlp_name, nlp_client, nlp_log in (("weak", nlp_weak, api_bundle.weak_audit),
                                      ("hardened", nlp_hard, api_bundle.hardened_audit)):
    nlp_r = apisec.send_body(nlp_client, "/v1/nlp/predict", nlp_big, nlp_user)
    nlp_size_rows.append({"API": nlp_name, "status": nlp_r.status,
                          "messages classified (audit log)": int(nlp_log.last()["n_items"]),
                          "seconds (this machine)": round(nlp_r.seconds, 3)})
nlp_size = pd.DataFrame(nlp_size_rows)
display(plots.table(nlp_size, caption=f"One body of {len(nlp_big):,} bytes "
                    f"({len(nlp_big_texts):,} ordinary messages); the hardened limit is "
                    f"{nlp_limit:,} bytes"))
claims.claim("NLP: the weak API classifies every message of the oversized body",
             float(nlp_size_rows[0]["status"] == 200 and nlp_size_rows[0][
                 "messages classified (audit log)"] == len(nlp_big_texts)), at_least=1)
claims.claim("NLP: the hardened API refuses the oversized body with 413, classifying nothing",
             float(nlp_size_rows[1]["status"] == 413
                   and nlp_size_rows[1]["messages classified (audit log)"] == 0), at_least=1)

# %% [markdown]
# The time is this machine's wall time, shown to give the scale (no claim rests on it): the
# weak API spent it classifying messages that an honest client never sends in one request; the
# hardened API answered from the request's headers alone.
#
# ### The adaptive attacker: no Content-Length
#
# The 413 above came from the `Content-Length` header, which the client writes. HTTP/1.1 lets a
# client leave it out and send the body in chunks (`Transfer-Encoding: chunked`); the server
# then learns the size only as the bytes arrive. A limit that reads the header alone never sees
# such a body. Chunks need a real connection, so we start a real server (uvicorn on 127.0.0.1,
# a free port) twice: once with the hardened configuration changed in one switch
# (`count_streamed_bytes=False`: trust Content-Length only), once with the hardened one, which
# counts the bytes as they arrive and stops reading at the limit. Each server is stopped as
# soon as its requests are done.

# %%
nlp_chunk_rows, nlp_ports = [], []
nlp_chunk_case = apisec.PenTestCase(
    name="oversized body sent chunked (no Content-Length)", system="nlp", threat="NLP-T8",
    method="POST", path="/v1/nlp/predict", headers=nlp_user, raw=nlp_big, chunked=True,
    expected=413)
for nlp_name, nlp_cfg in (("Content-Length only", nlp_config.replace(count_streamed_bytes=False)),
                          ("hardened: bytes counted as they arrive", nlp_config)):
    nlp_app = api_bundle.app(nlp_cfg, systems=("nlp",))
    with apisec.LocalServer(nlp_app) as nlp_srv, nlp_srv.client() as nlp_http:
        nlp_ports.append(nlp_srv.port)
        for nlp_chunked in (False, True):
            nlp_r = apisec.send_body(nlp_http, "/v1/nlp/predict", nlp_big, nlp_user,
                                      chunked=nlp_chunked)
            nlp_chunk_rows.append({
                "size limit": nlp_name, "server": nlp_srv.url,
                "body sent": "chunked, no Content-Length" if nlp_chunked else "with Content-Length",
                "status": nlp_r.status, "answer": nlp_r.detail[:80]})
        if nlp_cfg.count_streamed_bytes:
            nlp_chunk_pentest = apisec.run_pentest(nlp_http, [nlp_chunk_case],
                                                        audit=nlp_app.state.audit)
nlp_chunks = pd.DataFrame(nlp_chunk_rows)
display(plots.table(nlp_chunks, caption=f"The same {len(nlp_big):,}-byte body over real HTTP"))
nlp_open = [apisec.port_is_open(p) for p in nlp_ports]
print(f"both servers stopped; ports {nlp_ports} still open: {nlp_open}")
nlp_status = {(r["size limit"], r["body sent"]): r["status"] for r in nlp_chunk_rows}
claims.claim("NLP: a chunked body gets past a size limit that reads Content-Length only "
             "(422 from the batch rule: the server read and parsed all of it)",
             float(nlp_status["Content-Length only", "chunked, no Content-Length"] == 422),
             at_least=1)
claims.claim("NLP: counting streamed bytes refuses the chunked body with 413",
             float(nlp_status["hardened: bytes counted as they arrive",
                              "chunked, no Content-Length"] == 413), at_least=1)
claims.claim("NLP: no port stays open after the servers stop", float(any(nlp_open)), at_most=0)

# %% [markdown]
# Behind the Content-Length-only limit the chunked body was read and parsed in full: what
# refused it then (422) was the batch-size rule, which can only run on a parsed body, so the
# server had already spent the memory and time the size limit exists to save. Counting bytes
# as they arrive stops reading at the limit, whatever the headers say.
#
# ### What counts as a valid text
#
# The hardened API's request model accepts 1 to `max_batch` texts per request, each a string
# of 1 to `max_chars` characters (twice the longest training message), and nothing else. The
# weak model accepts a list of strings of any length and ignores unknown fields. The pen-test
# cases below are built around one honest message.

# %%
nlp_val_cases = apisec.text_validation_cases(
    nlp_user, max_chars=nlp_served.max_chars, max_batch=nlp_served.max_batch,
    text=nlp_test_texts[0])
nlp_val = pd.concat([
    apisec.attempt_table(nlp_client, nlp_val_cases,
                          success=lambda case, r: r.status_code == 200)
    .assign(API=nlp_name) for nlp_name, nlp_client in (("weak", nlp_weak), ("hardened", nlp_hard))])
display(plots.table(nlp_val.pivot(index="attempt", columns="API", values="status")
                    .reset_index(), caption="Status of each invalid body (422: refused)"))
nlp_val_hard = nlp_val[nlp_val["API"] == "hardened"]
nlp_val_weak = nlp_val[nlp_val["API"] == "weak"]
nlp_fit = stats.proportion(np.array([len(t) <= nlp_served.max_chars for t in nlp_test_texts]),
                           on=f"{len(nlp_test_texts)} test messages")
print(f"weak API: {int(nlp_val_weak['succeeded'].sum())} of {len(nlp_val_weak)} invalid bodies "
      f"served, {int(nlp_val_weak['server_error'].sum())} answered 5xx "
      f"({', '.join(nlp_val_weak.loc[nlp_val_weak['server_error'], 'attempt']) or 'none'}); "
      f"hardened: {int((nlp_val_hard['status'] == 422).sum())} of {len(nlp_val_hard)} refused "
      f"with 422. Honest messages within {nlp_served.max_chars} characters: {nlp_fit}")
claims.claim("NLP: the hardened API refuses every invalid text body with 422",
             float((nlp_val_hard["status"] == 422).mean()), at_least=1)
claims.claim("NLP: every honest test message fits the per-text length limit", nlp_fit.value,
             at_least=1)
claims.claim("NLP: the weak API answers an empty batch with a 5xx (the model raised)",
             float(nlp_val_weak.loc[nlp_val_weak["attempt"] == "an empty batch",
                                    "server_error"].all()), at_least=1)

# %% [markdown]
# The weak API's empty batch is worth a second look: the request model let it through, the
# model raised on an empty input, and the client got a 500. Validation belongs in the request
# model, before the model ever runs.
#
# ### What a user may see
#
# The weak API answers every user with the probabilities of all nine classes. Does that
# matter? Two measurements, each with the same attacker against two views of the same model:
# the probabilities (the weak API) and the label only (what a user of the hardened API gets).
# The hardened attacker is patient: it waits between requests to stay under the rate limit, so
# the only difference is what the answers show.
#
# 1. **The competitor's copy (NLP-T3, lab 04's theft):** the same thief's texts, the same number
#    of queries, a copy trained on the answers; fidelity on the test messages.
# 2. **The scammer's rewording (NLP-T1, lab 02's greedy attack):** scam messages the model
#    flags, reworded one word at a time (look-alike characters, zero-width characters,
#    leetspeak, typos). The attack ranks words by how much deleting them lowers the scam
#    probability, then keeps the change that lowers it most, within a query budget per message.

# %%
nlp_scam = int(nlp_served.data.extra["scam_index"])
nlp_n_classes = len(nlp_served.data.target_names)
nlp_victim = nlp_served.system.predict(nlp_test_texts)  # the referee's view, not the attacker's
nlp_pace = nlp_config.rate_per_s  # rows per second the hardened API refills per key


def nlp_patient(rows):
    """The attacker waits long enough for the bucket to refill the rows it just spent."""
    return lambda: api_bundle.clock.advance(rows / nlp_pace)


nlp_views = {
    "probabilities (weak API)": lambda: apisec.APITextClassifier(
        nlp_weak, nlp_user, nlp_n_classes, batch=32),
    "label only (hardened API, a user)": lambda: apisec.APITextClassifier(
        nlp_hard, nlp_user, nlp_n_classes, batch=32, pause=nlp_patient(32)),
}
NLP_BUDGETS = [50, 100, 200]
nlp_pool = extraction.surrogate_corpus(NLP_BUDGETS[-1], seed=1000 + seed)
nlp_on = f"{len(nlp_test_texts)} test messages"
nlp_theft = {name: extraction.theft_curve(make(), nlp_pool, NLP_BUDGETS, nlp_test_texts,
                                          nlp_victim, on=nlp_on)
             for name, make in nlp_views.items()}
nlp_flagged = [t for t, y, v in zip(nlp_test_texts, nlp_served.data.y_test, nlp_victim,
                                    strict=True) if y == nlp_scam and v == nlp_scam]
nlp_targets = [nlp_flagged[i] for i in
               np.sort(np.random.default_rng(seed).choice(len(nlp_flagged), 30, replace=False))]
NLP_QUERY_BUDGET = 80
nlp_evasion, nlp_attackers = {}, {}
for nlp_name, nlp_make in nlp_views.items():
    nlp_attackers[nlp_name] = nlp_make()
    nlp_evasion[nlp_name] = evasion.greedy_text_attack(
        nlp_attackers[nlp_name], nlp_targets, nlp_scam, evasion.CHAR_ATTACKS,
        query_budget=NLP_QUERY_BUDGET, seed=seed, progress=False)
nlp_evaded = {name: stats.proportion(res.evaded.astype(int),
                                     on=f"{len(nlp_targets)} flagged test scams")
              for name, res in nlp_evasion.items()}
nlp_scores_name, nlp_labels_name = list(nlp_views)
nlp_why = pd.DataFrame([{
    "what the user sees": name,
    **{f"copy fidelity, {b} queries": f"{r:.3f}"
       for b, r in zip(NLP_BUDGETS, nlp_theft[name]["fidelity"], strict=True)},
    f"scams reworded past the filter ({NLP_QUERY_BUDGET} queries each)": f"{nlp_evaded[name]:.3f}",
    "rewording queries answered with scores": f"{nlp_attackers[name].scored:,} of "
                                    f"{nlp_attackers[name].queries:,}",
} for name in nlp_views])
display(plots.table(nlp_why, caption=f"Two attacks through the API, scores vs label only "
                    f"[95% Wilson intervals]; fidelity on {nlp_on}"))
nlp_gap = (nlp_theft[nlp_scores_name]["value"] - nlp_theft[nlp_labels_name]["value"]).abs().max()
claims.claim("NLP: hiding the scores barely slows the copy (largest fidelity gap over the "
             "budgets, scores minus labels)", float(nlp_gap), at_most=0.06)
claims.claim("NLP: with the scores, the rewording gets many flagged scams past the filter "
             "(lower bound)", nlp_evaded[nlp_scores_name].low, at_least=0.3)
claims.claim("NLP: with the label only, the same rewording gets few scams past the filter "
             "(upper bound)", nlp_evaded[nlp_labels_name].high, at_most=0.2)

# %% [markdown]
# The copy is as faithful from labels as from probabilities (lab 04 found the same): hiding
# the scores does not stop a thief, the number of answers does (section 5). The scammer is
# another story: the greedy rewording ranks words and keeps changes by how much they lower
# the scam probability, and the label only says "scam" until the message is through, so each
# change is a blind guess. The scores are a guide that the hardened API keeps for the people
# who need them: the bank's analysts (admins).

# %%
fig = go.Figure()
for nlp_name, nlp_role in zip(nlp_views, ("attack", "defended"), strict=True):
    fig.add_scatter(x=NLP_BUDGETS, y=nlp_theft[nlp_name]["value"], name=nlp_name,
                    mode="lines+markers", line=dict(color=plots.COLORS[nlp_role]),
                    error_y=dict(type="data", symmetric=False,
                                 array=nlp_theft[nlp_name]["high"] - nlp_theft[nlp_name]["value"],
                                 arrayminus=nlp_theft[nlp_name]["value"]
                                 - nlp_theft[nlp_name]["low"]))
fig.update_layout(title="NLP: fidelity of the stolen copy, scores vs label only",
                  xaxis_title="queries (texts sent to the API)",
                  yaxis_title=f"fidelity on {nlp_on} (95% CI)")
fig

# %% [markdown]
# ### Exercise 2 · A role check that denies by default
#
# The API's policy is the table `lab12.POLICY`: a `user` may `predict` and read
# `recommendations`; an `admin` may also see raw `scores`, download the `model` and read the
# `audit` log. Write `is_allowed(principal, action, owner=None)`, where `principal` is a dict
# with `"role"` and `"tenant"`:
# - anything the policy does not list is refused: an unknown role, an unknown action, a role
#   written differently (`"Admin"`), a missing role;
# - an admin may do every action of the policy, whoever owns the object;
# - a user may read `recommendations` only when `owner` is their own tenant, and a user whose
#   tenant is `None` owns nothing;
# - roles and actions are compared exactly. Return `True` or `False`.


# %%
def is_allowed(principal, action, owner=None):
    ### BEGIN SOLUTION
    role = principal.get("role")
    if not isinstance(role, str) or role not in lab12.POLICY or action not in lab12.POLICY[role]:
        return False
    if role == "user" and action == "recommendations":
        tenant = principal.get("tenant")
        return tenant is not None and owner == tenant
    return True
    ### END SOLUTION


# %%
### POINTS: 2
is_allowed = check(lab12.ALLOWED_ACTIONS, is_allowed)
### BEGIN HIDDEN TESTS
grade(lab12.ALLOWED_ACTIONS, is_allowed)
### END HIDDEN TESTS


# %%
ex2_grid = pd.DataFrame(
    {action: [is_allowed({"role": role, "tenant": 7}, action, 7) for role in
              ("user", "admin", "Admin", "auditor")]
     for action in ("predict", "recommendations", "scores", "model", "audit")},
    index=["user", "admin", "Admin", "auditor"])
display(plots.table(ex2_grid, caption="What each role may do (owner = the caller's tenant)"))

# %% [markdown]
# ### The hardened API: labels for users, scores for admins
#
# In the hardened configuration `raw_scores_admin_only` is on: a user's answer carries the
# labels only, a user who asks for the scores (`?scores=true`) gets **403**, and an admin gets
# the probabilities. Honest users are not affected: their messages are still triaged. We send
# each honest test message once (another user's key, eight messages per request, at a pace
# under the rate limit) and count the answers that carry the model's own label.

# %%
nlp_body = nlp_served.body(nlp_test_texts[:2])
nlp_views_rows = []
for nlp_who, nlp_label in (("user", "user"), ("user", "user asks ?scores=true"),
                           ("admin", "admin asks ?scores=true")):
    nlp_params = {"scores": "true"} if "asks" in nlp_label else {}
    for nlp_name, nlp_client in (("weak", nlp_weak), ("hardened", nlp_hard)):
        nlp_r = nlp_client.post("/v1/nlp/predict", json=nlp_body, params=nlp_params,
                                headers=api_bundle.headers(nlp_who))
        nlp_views_rows.append({"caller": nlp_label, "API": nlp_name, "status": nlp_r.status_code,
                               "answer": nlp_r.text[:90]})
display(plots.table(pd.DataFrame(nlp_views_rows), caption="The same two messages, three callers"))
nlp_honest_n = 120
nlp_honest = {}
for nlp_name, nlp_client in (("weak", nlp_weak), ("hardened", nlp_hard)):
    nlp_labels, _ = apisec.served_labels(nlp_client, api_bundle.headers("user2"),
                                          nlp_test_texts[:nlp_honest_n], batch=8,
                                          pause=nlp_patient(8))
    nlp_honest[nlp_name] = stats.proportion(
        (nlp_labels == nlp_victim[:nlp_honest_n]).astype(int),
        on=f"{nlp_honest_n} honest test messages")
print(f"honest messages answered with the model's label: weak {nlp_honest['weak']}, "
      f"hardened {nlp_honest['hardened']}")
nlp_view_status = {(r["caller"], r["API"]): r["status"] for r in nlp_views_rows}
claims.claim("NLP: the hardened API refuses raw scores to a user (403) and gives them to an "
             "admin (200)",
             float(nlp_view_status["user asks ?scores=true", "hardened"] == 403
                   and nlp_view_status["admin asks ?scores=true", "hardened"] == 200), at_least=1)
claims.claim("NLP: honest messages are still triaged by the hardened API (lower bound)",
             nlp_honest["hardened"].low, at_least=0.95)

# %% [markdown]
# ### The adaptive user: another way to the admin data
#
# A user who knows that scores are for admins tries to look like one, or to reach the same
# route by another spelling: the scores flag written differently, a role in a header or in the
# query string, a trailing slash, upper case, a double slash, an admin token made from their own
# token's claims (signed with the weak API's guessable secret, or not signed at all), that token
# sent next to their own key, the model download, another method. Each attempt is sent to both
# APIs; it succeeds when the answer carries raw scores or the model.

# %%
nlp_token = nlp_hard.post("/v1/token", headers=nlp_user).json()["access_token"]
nlp_bypass_cases = apisec.scores_bypass_cases(nlp_user, nlp_token, body=nlp_body)
nlp_bypass = {nlp_name: apisec.attempt_table(nlp_client, nlp_bypass_cases,
                                             pause=nlp_patient(nlp_served.max_batch))
              for nlp_name, nlp_client in (("weak", nlp_weak), ("hardened", nlp_hard))}
display(plots.table(
    nlp_bypass["hardened"][["attempt", "method", "path", "expected", "status"]]
    .assign(**{"weak API: got admin data": nlp_bypass["weak"]["succeeded"],
               "hardened: got admin data": nlp_bypass["hardened"]["succeeded"]}),
    caption="The adaptive user's attempts at the admin data (status on the hardened API)"))
nlp_on_bypass = f"{len(nlp_bypass_cases)} bypass attempts"
nlp_bypass_weak = stats.proportion(nlp_bypass["weak"]["succeeded"].astype(int), on=nlp_on_bypass)
nlp_adaptive = stats.proportion(nlp_bypass["hardened"]["succeeded"].astype(int),
                                on=nlp_on_bypass)
print(f"attempts that got admin data: weak API {nlp_bypass_weak}, hardened {nlp_adaptive}; "
      f"hardened statuses: {nlp_bypass['hardened']['status'].value_counts().to_dict()}")
claims.claim("NLP: no bypass attempt gets admin data from the hardened API", nlp_adaptive.value,
             at_most=0)
nlp_tokens_weak = nlp_bypass["weak"][nlp_bypass["weak"]["expected"] == "401"]  # the two tokens
claims.claim("NLP: the weak API's verifier accepts the self-made admin tokens",
             float(nlp_tokens_weak["succeeded"].all()), at_least=1)
claims.claim("NLP: every bypass attempt gets its intended status on the hardened API, none a 5xx",
             float(nlp_bypass["hardened"]["as_expected"].all()
                   and not nlp_bypass["hardened"]["server_error"].any()), at_least=1)

# %% [markdown]
# Every attempt was refused for the reason it deserved: 403 where a valid user asked for
# something only an admin may have (the role comes from the key or the verified token, never
# from a header or a parameter), 401 where the token was not the API's own, 404 where the
# route does not exist (routes match exactly: no slash redirects, no case folding), 405 for
# the wrong method. On the weak API the same attempts mostly "succeed" only because it hands
# scores to everyone; its verifier also accepts the self-made tokens.
#
# ### The section's pen test
#
# The cases of this section, run against the hardened API: the oversized body (with and
# without Content-Length), the invalid texts, and the adaptive user's attempts.

# %%
nlp_size_case = apisec.PenTestCase(
    name="oversized body (Content-Length)", system="nlp", threat="NLP-T8", method="POST",
    path="/v1/nlp/predict", headers=nlp_user, raw=nlp_big, expected=413)
api_bundle.clock.advance(nlp_config.burst / nlp_pace)  # a fresh bucket for the pen test
nlp_pentest_rows = pd.concat([
    apisec.run_pentest(nlp_hard, [nlp_size_case] + nlp_val_cases, api_bundle.hardened_audit),
    nlp_chunk_pentest,
    apisec.run_pentest(nlp_hard, [dataclasses.replace(c, before=nlp_patient(32))
                                       for c in nlp_bypass_cases], api_bundle.hardened_audit),
], ignore_index=True)
PENTEST.append(nlp_pentest_rows)
display(plots.table(nlp_pentest_rows, caption="Pen test, NLP section (hardened API)"))
claims.claim("NLP: every pen-test case of the section gets its intended status",
             float(nlp_pentest_rows["passed"].mean()), at_least=1)
claims.claim("NLP: no pen-test case of the section is answered 5xx",
             int((nlp_pentest_rows["observed"] >= 500).sum()), at_most=0)
print(f"section 2 ran in {time.perf_counter() - nlp_t0:.1f} s")

# %% [markdown]
# ### What changed and why

# %%
display(Markdown(
    f"**What changed and why.** The weak API classified all {len(nlp_big_texts):,} messages of a "
    f"{len(nlp_big):,}-byte body; the hardened one refused it with 413 from its Content-Length. "
    f"Sent chunked, the same body got past a limit that trusts Content-Length "
    f"({nlp_status['Content-Length only', 'chunked, no Content-Length']}: read and parsed in "
    f"full) and was refused with 413 once the server counted bytes as they arrived. "
    f"Per-text and batch limits refused {int((nlp_val_hard['status'] == 422).sum())} of "
    f"{len(nlp_val_hard)} invalid bodies with 422 (the weak API served "
    f"{int(nlp_val_weak['succeeded'].sum())} and crashed on "
    f"{int(nlp_val_weak['server_error'].sum())}), while every honest test message fits. "
    f"Users now see labels only: a copy stolen from labels is as faithful as one stolen "
    f"from scores (gap at most {nlp_gap:.3f}), so this is no defence against theft; but the "
    f"scam rewording that the scores steer got {nlp_evaded[nlp_scores_name].value:.0%} of "
    f"flagged scams through with them and {nlp_evaded[nlp_labels_name].value:.0%} without. "
    f"The adaptive user's {len(nlp_bypass_cases)} attempts at the admin data all failed "
    f"({nlp_adaptive}), because the role comes only from a verified credential and routes "
    f"match exactly; honest messages were still triaged ({nlp_honest['hardened']})."))
SUMMARY["nlp"] = {
    "attack": "raw scores to any user, steering a scam's rewording",
    "success_weak": nlp_evaded[nlp_scores_name],
    "success_hardened": nlp_evaded[nlp_labels_name],
    "success_adaptive": nlp_adaptive,
    "honest_weak": nlp_honest["weak"],
    "honest_hardened": nlp_honest["hardened"],
    "note": (f"{len(nlp_bypass_cases)} tries at the scores (flag spellings, role headers and "
             "parameters, path variants, self-made admin tokens) all refused; a chunked body "
             "passed a Content-Length-only limit until streamed bytes were counted"),
}


# %% [markdown]
# ## 3 · Recommender: object-level authorisation, a log without personal data
#
# The film service gives each member their recommendations at
# `GET /v1/recommender/users/{user_id}/recommendations`. A member's list says what they watched
# and liked (lab 01's REC-T4: "the API reveals which films a person rated"), so a member may
# read their own list and nobody else's. Each member's API key is bound to their user id (the
# key's *tenant*). Checking that the caller has a valid key is authentication; checking that
# *this* caller may read *this* object is object-level authorisation, and its absence is the
# first entry of the OWASP API Security Top 10 (2023): **API1, broken object level
# authorization (BOLA)**.
#
# ### Another member's list, one id away
#
# The attacker is a member with a valid key for their own id. On the weak API they change the
# id in the path and walk through others. We draw 150 other members at random and compare each
# answer with the recommender's own list for that member (the referee's view): a list obtained
# is one that matches it exactly.

# %%
rec_t0 = time.perf_counter()

rec_served = api_bundle.served["recommender"]
rec_weak = apisec.api_client(api_bundle.weak_app)
rec_hard = apisec.api_client(api_bundle.hardened_app)
rec_log = api_bundle.hardened_audit
rec_log_start = len(rec_log)  # this section's rows of the hardened API's audit log start here
rec_config = api_bundle.hardened_app.state.config
rec_own, rec_victim = api_bundle.tenants["tenant_a"], api_bundle.tenants["tenant_b"]
rec_attacker = api_bundle.headers("tenant_a")
rec_rng = np.random.default_rng(seed)
rec_others = [int(u) for u in rec_rng.permutation(rec_served.n_users) if u != rec_own][:150]
rec_truth = {u: rec_served.recommend(u)["items"] for u in rec_others + [rec_victim]}


def rec_patient():
    """The attacker keeps under the per-key rate limit: one request's worth of refill."""
    api_bundle.clock.advance(1 / rec_config.rate_per_s)


rec_enum = {name: apisec.enumerate_lists(client, rec_attacker, rec_others,
                                                  pause=rec_patient)
            for name, client in (("weak", rec_weak), ("hardened", rec_hard))}
rec_on = f"{len(rec_others)} other members"
rec_got = {name: stats.proportion(np.array([items == rec_truth[u] for u, items in
                                            zip(frame["user_id"], frame["items"], strict=True)],
                                           dtype=int), on=rec_on)
           for name, frame in rec_enum.items()}
rec_example = rec_weak.get(apisec.recommendations_path(rec_others[0]),
                           headers=rec_attacker)
print(f"weak API, member {rec_own} asks for member {rec_others[0]}: {rec_example.status_code} "
      f"{rec_example.json()['titles'][:3]} ...")
for rec_name, rec_frame in rec_enum.items():
    print(f"{rec_name}: statuses {rec_frame['status'].value_counts().to_dict()}; other members' "
          f"lists obtained {rec_got[rec_name]}")
claims.claim("recommender: on the weak API a member reads other members' lists (lower bound)",
             rec_got["weak"].low, at_least=0.9)
claims.claim("recommender: the hardened API gives no other member's list (upper bound)",
             rec_got["hardened"].high, at_most=0.05)
claims.claim("recommender: the hardened API answers 403 to every other member's id",
             float((rec_enum["hardened"]["status"] == 403).mean()), at_least=1)

# %% [markdown]
# ### 403 or 404?
#
# The hardened API answers **403** for any id that is not the caller's, and it checks *before*
# it looks the id up. So an id that exists and one that does not get the same answer, and the
# status tells the attacker nothing about which members exist. (Answering 404 for every id that
# is not yours, as some APIs do, hides existence too; the point is that the answer must not
# depend on whether the object exists. 403 also keeps the refusals visible as such in the
# audit log, which the incident responder uses below.) The control experiment: ids that no
# member has.

# %%
rec_missing = [rec_served.n_users + i for i in range(10)] + [10 ** 6 + i for i in range(10)]
rec_exist_rows = []
rec_missing_status = {}
for rec_name, rec_client in (("weak", rec_weak), ("hardened", rec_hard)):
    rec_missing_status[rec_name] = apisec.enumerate_lists(
        rec_client, rec_attacker, rec_missing, pause=rec_patient)["status"]
    for rec_kind, rec_statuses in (("existing member", rec_enum[rec_name]["status"]),
                                   ("no such member", rec_missing_status[rec_name])):
        rec_exist_rows.append({"API": rec_name, "id": rec_kind, "ids": len(rec_statuses),
                               "statuses": rec_statuses.value_counts().to_dict()})
rec_exist = pd.DataFrame(rec_exist_rows)
display(plots.table(rec_exist, caption="Does the status reveal whether a member exists?"))
claims.claim("recommender: on the weak API the status tells which ids exist (200 / 404)",
             float((rec_enum["weak"]["status"] == 200).all()
                   and (rec_missing_status["weak"] == 404).all()), at_least=1)
claims.claim("recommender: the hardened API answers ids of no member with the same 403 "
             "(no existence oracle)", float((rec_missing_status["hardened"] == 403).mean()),
             at_least=1)

# %% [markdown]
# On the weak API the status is an oracle (200 for a member, 404 for nobody); on the hardened
# one every foreign id looks the same.
#
# ### Honest members
#
# Members read their own lists. We give 40 members drawn at random a key bound to their id,
# and each reads their list once from each API; an answer is correct when it matches the
# recommender's own list.

# %%
rec_members = [int(u) for u in rec_rng.choice(rec_served.n_users, 40, replace=False)]
rec_member_keys = {u: api_bundle.issue_key(f"member-{u}", "user", u)[0] for u in rec_members}
rec_honest = {}
for rec_name, rec_client in (("weak", rec_weak), ("hardened", rec_hard)):
    rec_ok = [rec_r.status_code == 200
              and rec_r.json()["items"] == rec_served.recommend(u)["items"]
              for u in rec_members
              for rec_r in [rec_client.get(apisec.recommendations_path(u),
                                           headers={"X-API-Key": rec_member_keys[u]})]]
    rec_honest[rec_name] = stats.proportion(np.array(rec_ok, dtype=int),
                                            on=f"{len(rec_members)} members reading their own list")
print(f"members served their own list correctly: weak {rec_honest['weak']}, "
      f"hardened {rec_honest['hardened']}")
claims.claim("recommender: members still read their own lists on the hardened API "
             "(lower bound)", rec_honest["hardened"].low, at_least=0.85)

# %% [markdown]
# ### The adaptive attacker: other spellings of the id, other routes
#
# An attacker who knows the API compares ids tries to make the comparison fail while the
# lookup still finds the victim: the victim's id with leading zeros, a plus sign, a decimal
# point, a space, a digit separator, the negative index that Python's list indexing would map to
# the same member, a number that wraps to it in 64-bit arithmetic, non-ASCII digits, hex, an
# exponent. Then other ways in: admin-looking routes, a role or a user id in a header or the
# query string, the predict route with the victim's id in the body (the same object behind a
# second route), and tokens made from their own with the victim as tenant. An attempt succeeds
# when the answer is the victim's list.

# %%
rec_token = rec_hard.post("/v1/token", headers=rec_attacker).json()["access_token"]
rec_cases = (apisec.id_encoding_cases(rec_victim, rec_attacker, n_users=rec_served.n_users)
             + apisec.admin_route_cases(rec_victim, rec_attacker, rec_token))


def rec_leak(case, response):
    return apisec.list_leaked(response, rec_truth, rec_own)


rec_adapt = {name: apisec.attempt_table(client, rec_cases, success=rec_leak, pause=rec_patient)
             for name, client in (("weak", rec_weak), ("hardened", rec_hard))}
display(plots.table(
    rec_adapt["hardened"][["attempt", "method", "path", "expected", "status"]]
    .assign(**{"weak API: victim's list": rec_adapt["weak"]["succeeded"],
               "hardened: victim's list": rec_adapt["hardened"]["succeeded"]}),
    caption=f"The adaptive attacker (member {rec_own}) after member {rec_victim}'s list "
            "(status on the hardened API)"))
rec_on_adapt = f"{len(rec_cases)} adaptive attempts"
rec_adapt_weak = stats.proportion(rec_adapt["weak"]["succeeded"].astype(int), on=rec_on_adapt)
rec_adaptive = stats.proportion(rec_adapt["hardened"]["succeeded"].astype(int), on=rec_on_adapt)
print(f"attempts that got the victim's list: weak {rec_adapt_weak}, hardened {rec_adaptive}; "
      f"hardened statuses {rec_adapt['hardened']['status'].value_counts().to_dict()}")
claims.claim("recommender: no adaptive attempt gets the victim's list from the hardened API",
             rec_adaptive.value, at_most=0)
claims.claim("recommender: every adaptive attempt gets its intended status, none a 5xx",
             float(rec_adapt["hardened"]["as_expected"].all()
                   and not rec_adapt["hardened"]["server_error"].any()), at_least=1)

# %% [markdown]
# The encodings that the integer parser reads (leading zeros, plus sign, decimal point, space,
# digit separator) become the victim's number, and the object-level check compares numbers, so
# they are refused like the plain id; the ones it cannot read are refused by validation (422).
# The check would have failed had it compared the path's *text* with the tenant while the lookup
# used the parsed number: compare the same value you look up. The second route (predict, with
# the id in the body) is the classic BOLA gap, and it has the same check here. Headers and query
# parameters never change who the caller is: only the key or a verified token does.
#
# ### The section's pen test
#
# Five other members' ids, three ids of nobody, and the adaptive attempts, against the hardened
# API.

# %%
rec_pentest_cases = (apisec.bola_cases(rec_attacker, rec_others[:5] + rec_missing[:3])
                     + rec_cases)
rec_pentest_rows = apisec.run_pentest(
    rec_hard, [dataclasses.replace(c, before=rec_patient) for c in rec_pentest_cases], rec_log)
PENTEST.append(rec_pentest_rows)
display(plots.table(rec_pentest_rows, caption="Pen test, recommender section (hardened API)"))
claims.claim("recommender: every pen-test case of the section gets its intended status",
             float(rec_pentest_rows["passed"].mean()), at_least=1)
claims.claim("recommender: no pen-test case of the section is answered 5xx",
             int((rec_pentest_rows["observed"] >= 500).sum()), at_most=0)

# %% [markdown]
# ### An audit log without personal data
#
# Every request above, refused or served, is a row of the hardened API's audit log. A row says
# **who** (the key id, and a pseudonym of the key holder's name keyed with a secret of the
# operator), **what** (method, the route *template*, the system), **when** (the API's clock),
# the **outcome** (status and a word), how many rows the request carried, and a **keyed
# digest** of the request (method, raw path, query and body, under the same secret). It never
# stores the raw path, the body, the answer or a name. Here are the last rows of this section.
# The same member also wrote to the chatbot, so that messages pass through the log too.

# %%
rec_messages = [str(t) for t in api_bundle.served["nlp"].data.X_test[:3]]
for rec_u in rec_members[:3]:
    rec_hard.post("/v1/nlp/predict", json={"texts": rec_messages},
                  headers={"X-API-Key": rec_member_keys[rec_u]})
rec_rows = rec_log.frame().iloc[rec_log_start:]
display(plots.table(rec_rows.tail(6), caption=f"The last rows of the audit log "
                    f"({len(rec_rows)} rows in this section)"))
rec_titles = sorted({t for rec_u in rec_others[:50]
                     for t in rec_served.recommend(rec_u)["titles"]})
rec_pii = apisec.personal_data_check(rec_log, {
    "member id in a request path": [f"/users/{u}/" for u in rec_others + rec_members],
    "member id in a body": [f'"user_id":{rec_victim}', f'"user_id": {rec_victim}'],
    "member name": [f"member-{u}" for u in rec_members],
    "raw API key": list(rec_member_keys.values()) + [api_bundle.key("tenant_a")],
    "film title in an answer": rec_titles,
    "chat message text": rec_messages,
})
display(plots.table(rec_pii, caption="Personal values looked for in every field of the log"))
claims.claim("recommender: the audit log holds none of the personal values looked for",
             int(rec_pii["found"].sum()), at_most=0)

# %% [markdown]
# ### What the incident responder can still do
#
# The log is useful without personal data. Three questions a responder asks after a report
# of "someone reads other members' lists":
#
# 1. **What did this key do?** All requests of one key, by route and outcome.
# 2. **Is the same probe coming from several keys?** Two requests with the same method, path,
#    query and body have the same digest, so they are linked without the log holding the
#    request. The attacker, refused, opens a second account and sends the same probe from it.
# 3. **Was member X's list read, and by whom?** The responder holds the key, so they can
#    compute the digest of "GET member X's recommendations" and look it up.

# %%
rec_attacker_key = api_bundle.principal("tenant_a").key_id
display(plots.table(apisec.key_activity(rec_rows, rec_attacker_key),
                    caption=f"1 · What key {rec_attacker_key} did in this section"))
rec_probe = {"user_id": rec_victim, "k": 10}
rec_second, rec_second_principal = api_bundle.issue_key("new-signup", "user")  # a second account
for rec_headers in (rec_attacker, {"X-API-Key": rec_second}):
    rec_hard.post("/v1/recommender/predict", json=rec_probe, headers=rec_headers)
rec_rows = rec_log.frame().iloc[rec_log_start:]
rec_linked = apisec.linked_requests(rec_rows)
display(plots.table(rec_linked, caption="2 · Requests that several keys sent (same digest)"))
rec_seen = apisec.request_seen(rec_rows, rec_log, "GET",
                                apisec.recommendations_path(rec_victim))
display(plots.table(rec_seen[["time", "key_id", "principal", "status", "outcome"]],
                    caption=f"3 · Who asked for member {rec_victim}'s list (plain id in the "
                            "path)"))
rec_probe_keys = {rec_attacker_key, rec_second_principal.key_id}
claims.claim("recommender: the digest links the probe sent from two keys",
             float(any(set(keys.split(", ")) >= rec_probe_keys for keys in
                       rec_linked.loc[rec_linked["endpoint"] == "/v1/recommender/predict",
                                      "keys"])), at_least=1)
claims.claim("recommender: the responder finds the attacker's refused reads of the victim's list",
             float(((rec_seen["key_id"] == rec_attacker_key)
                    & (rec_seen["status"] == 403)).any()), at_least=1)

# %% [markdown]
# The linked requests hold more than the probe. A foreign id the attacker asked for and the
# member of that id reading their own list are the same request (same method and path) from
# two keys: the digest ties the refused attempt to the member whose list it was, without the log
# holding the id. Identical chat messages from several members are linked too (equal
# bodies), and the self-made tokens show up as anonymous requests on the victim's path.
#
# Question 3 has a limit the responder must know: the digest is of the raw path, so it finds
# the plain id; the encodings above ("000427", "+427") have other digests. Those were all
# refused (question 1 shows them as forbidden), but a responder who needs them finds them by
# computing the digests of the known encodings.
#
# ### Someone without the key
#
# A pseudonym keyed with a secret can be reversed only by whoever holds the secret. An
# attacker who steals the log (not the key) and knows how members are named tries every name
# (`member-0` ... `member-N`, the staff names, the sign-up name) under three guesses of the
# pseudonym function. The control: the same log pseudonymised with a plain SHA-256, which
# needs no key.

# %%
rec_names = (["alice", "bob", "carol", "new-signup"]
             + [f"member-{u}" for u in range(rec_served.n_users)])
rec_pseudonyms = rec_rows["principal"].unique()
rec_true_names = ([api_bundle.principal("tenant_a").name, "new-signup"]
                  + [f"member-{u}" for u in rec_members])
rec_reversal = pd.DataFrame([
    {"who tries": "responder (holds the key)",
     "share re-identified": apisec.pseudonym_reversal(rec_pseudonyms, rec_names,
                                                       rec_log.pseudonym)},
    {"who tries": "thief of the log: plain SHA-256",
     "share re-identified": apisec.pseudonym_reversal(rec_pseudonyms, rec_names,
                                                       apisec.plain_pseudonym)},
    {"who tries": "thief of the log: HMAC with a guessed key",
     "share re-identified": apisec.pseudonym_reversal(
         rec_pseudonyms, rec_names,
         apisec.AuditLog(b"secret" * 3).pseudonym)},
    {"who tries": "control: a log with unkeyed SHA-256 pseudonyms",
     "share re-identified": apisec.pseudonym_reversal(
         [apisec.plain_pseudonym(n) for n in rec_true_names], rec_names,
         apisec.plain_pseudonym)},
])
rec_reversal["share re-identified"] = rec_reversal["share re-identified"].map(
    lambda rate: f"{rate:.3f} ({rate.successes} of {rate.n})")
display(plots.table(rec_reversal, caption=f"Reversing the pseudonyms by trying "
                    f"{len(rec_names)} candidate names"))
rec_thief = apisec.pseudonym_reversal(rec_pseudonyms, rec_names,
                                               apisec.plain_pseudonym)
rec_control = apisec.pseudonym_reversal(
    [apisec.plain_pseudonym(n) for n in rec_true_names], rec_names,
    apisec.plain_pseudonym)
claims.claim("recommender: without the key, no pseudonym of the log is re-identified",
             rec_thief.value, at_most=0)
claims.claim("recommender: unkeyed pseudonyms are all re-identified (control)", rec_control.value,
             at_least=1)
print(f"section 3 ran in {time.perf_counter() - rec_t0:.1f} s")

# %% [markdown]
# ### What changed and why

# %%
display(Markdown(
    f"**What changed and why.** On the weak API a member who changed the id in the path read "
    f"other members' lists (share obtained {rec_got['weak']}), and a 404 told them which ids "
    f"exist. The "
    f"hardened API compares the caller's tenant with the id *before* looking it up: "
    f"{rec_got['hardened'].successes} of {rec_got['hardened'].n} lists obtained, 403 for "
    f"every foreign id, existing or not, while members still read their own "
    f"({rec_honest['hardened']}). The adaptive attacker's {len(rec_cases)} attempts (id "
    f"encodings, admin-looking routes, headers and parameters, the predict route, self-made "
    f"tokens) obtained {rec_adaptive.successes} lists: the check compares the parsed number the "
    f"lookup uses, guards both routes, and takes the caller from the verified credential only. "
    f"The audit log recorded all of it with no member id, name, key, title or message in any "
    f"field, and still told the responder what the attacker's key did, linked the probe sent "
    f"from two keys, and found who asked for member {rec_victim}'s list; a thief of the log "
    f"re-identified {rec_thief.successes} of {rec_thief.n} pseudonyms (an unkeyed hash: "
    f"{rec_control.successes} of {rec_control.n})."))
SUMMARY["recommender"] = {
    "attack": "another member's list by changing the id (BOLA)",
    "success_weak": rec_got["weak"],
    "success_hardened": rec_got["hardened"],
    "success_adaptive": rec_adaptive,
    "honest_weak": rec_honest["weak"],
    "honest_hardened": rec_honest["hardened"],
    "note": (f"{len(rec_cases)} tries (id encodings, admin routes, role/id headers and "
             "parameters, the predict route, self-made tokens): all refused, since the check "
             "compares the parsed id on both routes"),
}


# %% [markdown]
# ## 4 · Fraud: validating numbers
#
# The payment gateway sends each transaction to the fraud scorer through the API:
# `POST /v1/fraud/predict` with `{"transactions": [{"amount": ..., "hour": ..., ...}]}`, 23
# numbers per transaction, answered with one label per transaction (1: decline as fraud). A
# number can be wrong in ways its type does not show: not a number at all (NaN), infinite, or
# a float that no transaction can have (a negative amount, hour 99). Lab 01's threat model
# puts the fraudster at this entry point (FRD-T1, E5): here we look at what the API does with
# such numbers, then at a fraudster who sends only correct ones.
#
# ### The weak API: any float is a number
#
# The weak API validates shapes only (23 named floats per transaction) and keeps FastAPI's
# default error handler. Python's `json` module, which FastAPI parses bodies with, reads
# `NaN` and `Infinity` as floats although JSON has no such values, and turns the legal JSON
# number `1e400` into infinity. We send one honest test transaction broken in each of the ways
# of `fraud.NONFINITE_FRAUD_CASES`; one of them, the control, is invalid without any
# non-finite number.

# %%
fr_served = api_bundle.served["fraud"]
fr_build_t0 = time.perf_counter()
fr_model = fr_served.system  # lab 00's fraud scorer (trained here if no section used it yet)
print(f"fraud scorer ready in {time.perf_counter() - fr_build_t0:.1f} s ({fr_model.source_})")
fr_t0 = time.perf_counter()
fr_user = api_bundle.headers("user")  # a legitimate user key: the gateway's
fr_clock = api_bundle.clock  # the API's injected clock (to wait out the rate limit)
fr_weak = apisec.api_client(api_bundle.weak_app)
fr_hard = apisec.api_client(api_bundle.hardened_app)
fr_row = int(np.flatnonzero(fr_served.data.y_test == 0)[seed])  # an honest test transaction
fr_nonfinite = apisec.nonfinite_fraud_bodies(fr_served, row=fr_row)
fr_absurd = apisec.absurd_fraud_bodies(fr_served, n_rows=8, seed=seed)
fr_weak_trial = apisec.malformed_input_trial(
    fr_weak, fr_served, fr_user, name="weak", absurd=fr_absurd, nonfinite=fr_nonfinite,
    n_honest=160, seed=seed, clock=fr_clock)
fr_w = fr_weak_trial.responses.set_index("kind")
fr_nf_cases = list(fr_nonfinite["case"])
display(plots.table(pd.DataFrame({
    "body": fr_nf_cases, "what it holds": fr_nonfinite["what"].to_list(),
    "status": fr_w.loc[fr_nf_cases, "status"].to_list(),
    "answer (start)": fr_w.loc[fr_nf_cases, "answer"].str[:110].to_list()}),
    caption="The weak API and seven broken bodies of one honest transaction"))
print(f"weak API, non-finite or malformed bodies answered 500: "
      f"{fr_weak_trial.nonfinite_server_errors}")
claims.claim("fraud: the weak API answers every non-finite or malformed body with a 500 "
             "(6 bodies, the control left out)",
             fr_weak_trial.nonfinite_server_errors.value, at_least=1)
claims.claim("fraud: the weak API answers the control (a field missing, no NaN) with 422",
             float(fr_w.loc["hour missing (control, no NaN)", "status"] == 422), at_least=1)

# %% [markdown]
# The control's 422 shows what FastAPI's default handler does with an invalid body: it sends
# the input back (`"input": {...}`). Two mechanisms can give the 500s, and a control
# experiment separates them: the same weak API with one switch changed,
# `safe_error_handler=True` (a handler that answers 422 with the field's location and never
# the input), all else weak.

# %%
fr_control_app = api_bundle.app(apisec.SecurityConfig.weak().replace(safe_error_handler=True),
                                systems=("fraud",))
fr_control = apisec.malformed_input_trial(
    apisec.api_client(fr_control_app), fr_served, fr_user, name="weak + safe handler",
    absurd=fr_absurd.iloc[:0], nonfinite=fr_nonfinite, n_honest=1, seed=seed, clock=fr_clock)
fr_c = fr_control.responses.set_index("kind")
fr_mech = pd.DataFrame({
    "body": fr_nf_cases,
    "shape valid": ~fr_nonfinite["invalid_shape"].to_numpy(),
    "weak API": fr_w.loc[fr_nf_cases, "status"].to_list(),
    "weak API + safe handler": fr_c.loc[fr_nf_cases, "status"].to_list()})
display(plots.table(fr_mech, caption="Control: only the error handler changed"))
fr_echo = fr_mech[~fr_mech["shape valid"]]
fr_model_err = fr_mech[fr_mech["shape valid"]]
claims.claim("fraud: with only the safe handler, every invalid body gets 422 instead of 500 "
             "(the default handler's echo caused those 500s)",
             float((fr_echo["weak API + safe handler"] == 422).all()
                   and (fr_echo.loc[fr_echo["body"] != "hour missing (control, no NaN)",
                                    "weak API"] == 500).all()), at_least=1)
claims.claim("fraud: with only the safe handler, the shape-valid NaN and infinity bodies "
             "still get 500 (lenient validation lets them reach the model)",
             float((fr_model_err["weak API + safe handler"] == 500).all()), at_least=1)

# %% [markdown]
# Two bugs, then. **The echo:** for an invalid body, the default handler puts the input into
# its JSON answer; Starlette's `JSONResponse` refuses to write NaN or infinity
# (`allow_nan=False`), and cannot encode a lone surrogate as UTF-8, so the error handler
# itself fails and the client gets 500 instead of 422. **Lenient validation:** a body of the
# right shape passes with NaN or infinity inside (pydantic's `float` accepts both), and the
# model's own input check raises, uncaught: 500 again. A 500 tells an attacker that an input
# reached code it should not have reached, and every 500 is a stack trace in a log.
#
# ### Numbers that parse but cannot be
#
# The other failure is silent. Each of the honest test transactions drawn above
# (`fraud.absurd_fraud_bodies`) is changed in one value, in each of the ways of
# `fraud.ABSURD_FRAUD_KINDS`; every value is a finite float.

# %%
fr_kinds = fr_weak_trial.attacks[fr_weak_trial.attacks["group"] == "absurd"]
fr_kind_table = fr_kinds.groupby("kind", sort=False).agg(
    bodies=("status", "size"), statuses=("status", lambda s: ", ".join(map(str, sorted(set(s))))),
    scored=("scored", "mean")).reset_index()
fr_kind_table.insert(1, "what", [apisec.ABSURD_FRAUD_KINDS[k] for k in fr_kind_table["kind"]])
display(plots.table(fr_kind_table, caption="The weak API on absurd transactions (scored: "
                                           "share answered 200 with a label)"))
fr_example = fr_absurd[fr_absurd["kind"] == "amount of 1e30"].iloc[0]["body"]
fr_example_answer = fr_weak.post(apisec.FRAUD_PREDICT_PATH, json=fr_example,
                                 headers=fr_user).json()
print(f"absurd transactions scored by the weak API: {fr_weak_trial.absurd_scored}")
print(f"e.g. an amount of 1e30 gets {fr_example_answer}")
claims.claim("fraud: the weak API scores absurd transactions as if they were real (lower "
             "Wilson bound of the share answered 200 with a label)",
             fr_weak_trial.absurd_scored.low, at_least=0.9)


# %% [markdown]
# The weak API answers with a probability of fraud for a payment of 10^30, or for one made at
# hour 99: a number that means nothing, returned as if it did. A client that trusts it, or a
# fraudster who probes what the model does far outside its data, gets an answer.

# %% [markdown]
# ### Exercise 3 · A validator for finite, in-range inputs
#
# Write `valid_rows(rows, low, high)`: which rows of the 2-D array `rows` may reach the model?
# A row is valid when every value is finite and `low[j] <= value <= high[j]` for its column
# `j` (both bounds inclusive). Return a boolean array with one entry per row, and do not change
# `rows`. A `rows` that is not 2-D, or bounds whose length is not the number of columns, is bad
# input: raise `ValueError`.
#
# Careful with NaN: every comparison with NaN is `False`, so a test written as "not below the
# low bound and not above the high bound" lets it through.


# %%
def valid_rows(rows, low, high):
    ### BEGIN SOLUTION
    R = np.asarray(rows, dtype=np.float64)
    lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    if R.ndim != 2 or lo.shape != (R.shape[1],) or hi.shape != (R.shape[1],):
        raise ValueError("rows must be 2-D with one bound per column")
    return np.all(np.isfinite(R) & (R >= lo) & (R <= hi), axis=1)
    ### END SOLUTION


# %%
### POINTS: 2
valid_rows = check(lab12.VALID_ROWS, valid_rows)
### BEGIN HIDDEN TESTS
grade(lab12.VALID_ROWS, valid_rows)
### END HIDDEN TESTS


# %%
ex3_low, ex3_high = np.asarray(fr_served.low, dtype=float), np.asarray(fr_served.high, dtype=float)
ex3_verdicts = []
for ex3_kind, ex3_body in zip(fr_absurd["kind"], fr_absurd["body"], strict=True):
    ex3_rows = np.array([[t[f] for f in fr_served.feature_names]
                         for t in ex3_body["transactions"]], dtype=float)
    ex3_verdicts.append({"kind": ex3_kind,
                         "refused": bool(~valid_rows(ex3_rows, ex3_low, ex3_high).all())})
ex3_table = pd.DataFrame(ex3_verdicts).groupby("kind", sort=False)["refused"].mean().reset_index()
display(plots.table(ex3_table, caption="Share of the absurd transactions your validator "
                    "refuses, by kind (ranges only)"))

# %% [markdown]
# ### The fix: strict validation and a safe error handler
#
# The hardened API's request model for a transaction allows each feature only finite values
# within the training data's range widened by 10% of its span, clipped to the simulator's
# documented limits (`fraud_sim.ATTACKER_CONSTRAINTS`: amounts in [0.01, 20,000], hours
# 0-23), forbids unknown fields, and checks what the simulator documents across fields: whole
# numbers for hours and counts, 0 or 1 for flags, exactly one merchant category, a channel the
# category allows. Its error handler answers 422 with the field's location and never the
# input. The same bodies, and the same honest test transactions (sent in batches):

# %%
fr_bounds = fr_served.bounds()
display(plots.table(fr_bounds[fr_bounds["feature"].isin(
    ["amount", "hour", "is_online", "cat_grocery", "cust_n_tx_7d",
     "term_fraud_rate_28d_delayed"])], caption="Some of the ranges the hardened API allows "
                                               "(all 23 in served.bounds())"))
fr_hard_trial = apisec.malformed_input_trial(
    fr_hard, fr_served, fr_user, name="hardened", absurd=fr_absurd, nonfinite=fr_nonfinite,
    n_honest=160, seed=seed, clock=fr_clock)
fr_compare = pd.DataFrame([{
    "API": t.api, "malformed bodies refused with 422": f"{t.refused:.3f}",
    "absurd transactions scored": f"{t.absurd_scored:.3f}",
    "server errors (5xx)": f"{t.server_errors:.3f}",
    "honest transactions served": f"{t.honest_served:.3f}"}
    for t in (fr_weak_trial, fr_hard_trial)])
display(plots.table(fr_compare, caption=f"{fr_hard_trial.refused.n} malformed bodies "
                                        f"({len(fr_absurd)} absurd, "
                                        f"{fr_hard_trial.refused.n - len(fr_absurd)} non-finite "
                                        f"or malformed), {fr_hard_trial.honest_served.n} honest "
                                        "test transactions (Wilson 95% intervals)"))
fr_same_labels = float((fr_hard_trial.honest["label"].to_numpy()
                        == fr_weak_trial.honest["label"].to_numpy()).mean())
print(f"honest transactions: the hardened API gives the weak API's label for "
      f"{fr_same_labels:.0%} of them; the client waited {fr_hard_trial.waited_s:.0f} s of the "
      f"API's clock at its rate limit (20 rows per second)")
fr_h = fr_hard_trial.responses.set_index("kind")
print("the 422 a client gets for the NaN amount:", fr_h.loc["amount NaN", "answer"])
claims.claim("fraud: the hardened API refuses the malformed bodies with 422 (lower Wilson "
             "bound)", fr_hard_trial.refused.low, at_least=0.9)
claims.claim("fraud: the hardened API answers none of the malformed bodies with a 5xx",
             float((fr_hard_trial.responses["status"] >= 500).sum()), at_most=0)
claims.claim("fraud: the hardened API's 422 answers never echo the input",
             float(fr_hard_trial.responses["answer"].str.contains('"input"').sum()), at_most=0)
claims.claim("fraud: the hardened API still serves honest test transactions (lower Wilson "
             "bound)", fr_hard_trial.honest_served.low, at_least=0.95)

# %% [markdown]
# ### A bounded fuzz of the schema
#
# The cases above are the ones we thought of. A property-based fuzzer writes its own:
# schemathesis reads the OpenAPI schema that each app publishes (`/v1/openapi.json`) and
# generates requests for `POST /v1/fraud/predict`, *positive* ones that fit the schema and
# *negative* ones that break it, sent in-process with the user's key. JSON has no NaN, so
# schemathesis never generates one; we add a mutation of our own: each positive case is sent
# once more with its first declared number replaced by `NaN` (`fuzz.mutate_numbers`). The fuzz
# is bounded (a fixed number of examples per mode), deterministic (`derandomize=True`,
# `database=None`, `deadline=None`, no shrinking) and judged by schemathesis's
# `not_a_server_error` check. The clock moves 2 s before each request so that the hardened
# API's rate limit never answers in place of the validation.

# %%
def fr_pace():
    fr_clock.advance(2.0)


fr_fuzz_weak = apisec.fuzz_operation(
    api_bundle.weak_app, apisec.FRAUD_PREDICT_PATH, name="weak", headers=fr_user,
    max_examples=6, openapi_path="/v1/openapi.json", before_each=fr_pace)
fr_fuzz_hard = apisec.fuzz_operation(
    api_bundle.hardened_app, apisec.FRAUD_PREDICT_PATH, name="hardened", headers=fr_user,
    max_examples=15, openapi_path="/v1/openapi.json", before_each=fr_pace)
fr_findings = apisec.fuzz_findings([fr_fuzz_weak, fr_fuzz_hard])
display(plots.table(fr_findings, caption="schemathesis findings: statuses seen and the "
                                         "smallest body that got a 5xx"))
fr_hard_5xx = stats.proportion(fr_fuzz_hard.n_server_errors, fr_fuzz_hard.n_requests,
                               on=f"{fr_fuzz_hard.n_requests} fuzz requests to the hardened API")
fr_weak_errors = fr_fuzz_weak.server_errors
print(f"weak API: {fr_fuzz_weak.n_server_errors} of {fr_fuzz_weak.n_requests} requests got a "
      f"5xx ({dict(fr_weak_errors['source'].value_counts())}); smallest: "
      f"{fr_fuzz_weak.minimal_server_error()}")
print(f"hardened API: 5xx share {fr_hard_5xx}")
claims.claim("fraud: the fuzz finds server errors on the weak API (number of 5xx answers)",
             fr_fuzz_weak.n_server_errors, at_least=3)
claims.claim("fraud: the fuzz finds no server error on the hardened API",
             fr_fuzz_hard.n_server_errors, at_most=0)

# %%
fr_nan_cases = fr_fuzz_weak.cases[fr_fuzz_weak.cases["source"] == "positive + NaN"]
fr_hard_positive = fr_fuzz_hard.cases[fr_fuzz_hard.cases["source"] == "positive"]
fr_empty_batch = fr_fuzz_weak.minimal_server_error() == '{"transactions": []}'
fr_empty_error = fr_fuzz_weak.server_errors["exception"].iloc[0] or "an exception"
claims.claim("fraud: the smallest body that crashes the weak API in the fuzz is an empty batch",
             float(fr_empty_batch), at_least=1)
display(Markdown(
    f"The fuzzer found a crash we had not written a case for: the weak API accepts an empty "
    f"batch (`{fr_fuzz_weak.minimal_server_error()}`), the model's input check raises "
    f"({fr_empty_error}: a batch of 0 rows) and the exception becomes a 500; the hardened "
    f"schema requires 1 to {fr_served.max_batch} transactions. "
    f"{int(fr_nan_cases['server_error'].sum())} of {len(fr_nan_cases)} NaN mutants crashed the "
    f"weak API too. On the hardened API even the *positive* cases were refused "
    f"({(fr_hard_positive['status'] == 422).mean():.0%} of {len(fr_hard_positive)} got 422): "
    f"the schema carries the ranges but not the rules across fields (exactly one category, "
    f"whole hours), so a generator that follows the schema almost never writes a valid "
    f"transaction. The fuzz tests the refusals; the honest transactions above test the "
    f"acceptances. A bounded fuzz finds what it happens to draw: no 5xx in "
    f"{fr_fuzz_hard.n_requests} requests is evidence (a 5xx rate of at most "
    f"{fr_hard_5xx.high:.1%} at 95% confidence), not a proof."))

# %% [markdown]
# ### The adaptive attacker who knows the validator
#
# A fraudster whose payment is declined does not need NaN. Lab 02's constrained evasion
# (`evasion.constrained_fraud_attack`) changes only what a fraudster controls (merchant
# category and channel, the hour, splitting the payment into parts) and recomputes the
# history features, so every candidate is a transaction that could happen. Here it runs
# through the hardened API with a user key and sees only approve or decline; it checks every
# candidate against its own copy of the validator (`served.request_model(strict=True)`) before
# sending it, and waits out the rate limit. Targets: test frauds the hardened API declines,
# drawn with the lab's seed. A fraud counts as evaded when every part of its final
# transaction is approved when sent again through the API.

# %%
fr_evasion = apisec.api_fraud_evasion(fr_hard, fr_served, fr_user, n_frauds=30,
                                        query_budget=100, seed=seed, clock=fr_clock)
fr_plan = fr_evasion.plan
fr_evaded = fr_evasion.evaded
fr_by_scenario = fr_plan.groupby("scenario").agg(
    frauds=("evaded", "size"), evaded=("replayed_approved", "mean"),
    median_queries=("queries", "median"), split=("parts", lambda p: float((p > 1).mean())))
fr_by_scenario.insert(0, "name", [fraud_sim.SCENARIOS[s]["name"] for s in fr_by_scenario.index])
display(plots.table(fr_by_scenario.reset_index(),
                    caption="The adaptive attacker through the hardened API, per fraud "
                            "scenario (split: share that split the payment)"))
print(f"caught test frauds: {fr_evasion.n_caught} of {fr_evasion.n_test_frauds}; attacked "
      f"{len(fr_plan)}")
print(f"evaded (every part approved on replay): {fr_evaded}")
print(f"valid transactions (fraud_sim.check_constraints): {fr_evasion.valid}")
print(f"queries per fraud (parts submitted until one is declined, lab 02's count): median "
      f"{fr_plan['queries'].median():.0f}, max {fr_plan['queries'].max()}")
print(f"the simulation sent {fr_evasion.rows_sent} candidate transactions in "
      f"{fr_evasion.api_requests} requests (statuses {fr_evasion.statuses}); the attacker's "
      f"copy of the validator discarded {fr_evasion.rows_discarded}; it waited "
      f"{fr_evasion.waited_s:.0f} s at the rate limit")
claims.claim("fraud: the adaptive attacker gets caught frauds approved with finite, in-range "
             "values only (lower Wilson bound)", fr_evaded.low, at_least=0.5)
claims.claim("fraud: every evading transaction passed the hardened API's validation (no "
             "status other than 200)",
             float(set(fr_evasion.statuses) == {200}
                   and (fr_plan.loc[fr_plan["replayed_approved"], "replayed_statuses"]
                        == "200").all()), at_least=1)

# %% [markdown]
# Validation is not a defence against evasion. It keeps out inputs that cannot be
# transactions; the evading ones are transactions, each value in range, so they pass it by
# construction. The defences against this attacker are lab 02's: features that splitting a
# payment cannot lower, and adversarial training on the fraudster's legal moves. What the API
# can add is to make the probing expensive and visible: the rate limit made this attacker
# wait, and section 5 adds a detector that looks at the pattern of queries.
#
# ### Pen test
#
# The section's rows of the lab's pen-test table: six malformed inputs, each sent once to the
# hardened API with the user's key, each expected to get 422, and each checked in the audit
# log (`fraud.fraud_pentest_cases`).

# %%
fr_cases = apisec.fraud_pentest_cases(fr_served, fr_user,
                                        before=lambda: fr_clock.advance(5.0))
fr_pentest_table = apisec.run_pentest(fr_hard, fr_cases, api_bundle.hardened_audit)
display(plots.table(fr_pentest_table, caption="Pen test, fraud: the hardened API"))
PENTEST.append(fr_pentest_table)
claims.claim("fraud: every pen-test case got 422, none a 500, and each is in the audit log",
             float(fr_pentest_table["passed"].all() and fr_pentest_table["audited"].all()
                   and fr_pentest_table["server_errors"].sum() == 0
                   and (fr_pentest_table["observed"] == 422).all()), at_least=1)

# %%
SUMMARY["fraud"] = {
    "attack": "malformed and out-of-range numbers",
    "success_weak": fr_weak_trial.attack_success,
    "success_hardened": fr_hard_trial.attack_success,
    "success_adaptive": fr_evaded,
    "honest_weak": fr_weak_trial.honest_served,
    "honest_hardened": fr_hard_trial.honest_served,
    "note": (f"kept every value finite and in range (lab 02's legal moves, checked against "
             f"its copy of the validator): {fr_evaded.successes} of {fr_evaded.n} caught frauds "
             f"approved; validation does not stop evasion, lab 02's robust features and "
             f"adversarial training do"),
}
print(f"fraud section: {time.perf_counter() - fr_t0:.1f} s (after the model was ready)")
display(Markdown(
    f"**What changed and why.** The weak API validated shapes only and kept FastAPI's default "
    f"error handler: it scored {fr_weak_trial.absurd_scored.value:.0%} of "
    f"{fr_weak_trial.absurd_scored.n} absurd transactions (amounts of 10^30, hour 99, two "
    f"categories) as if they were real, and answered "
    f"{fr_weak_trial.nonfinite_server_errors.value:.0%} of "
    f"{fr_weak_trial.nonfinite_server_errors.n} non-finite or malformed bodies with a 500, "
    f"for two reasons the control separated: the default handler echoes an invalid input and "
    f"cannot write NaN, infinity or a lone surrogate into JSON; and NaN in a body of the right "
    f"shape reached the model. The hardened API checks every number (finite, in the training "
    f"range within the simulator's limits, whole where it must be, one category) and answers "
    f"422 with field locations only: {fr_hard_trial.refused.value:.0%} of the "
    f"{fr_hard_trial.refused.n} malformed bodies refused, none with a 5xx, and "
    f"{fr_hard_trial.honest_served.value:.0%} of {fr_hard_trial.honest_served.n} honest "
    f"transactions served with the same labels. The bounded fuzz found "
    f"{fr_fuzz_weak.n_server_errors} server errors in {fr_fuzz_weak.n_requests} requests to the "
    f"weak API (an empty batch among them, which we had not thought of) and none in "
    f"{fr_fuzz_hard.n_requests} to the hardened one. Validation does not stop the fraudster "
    f"who sends valid transactions: lab 02's constrained evasion, through the hardened API "
    f"with approve/decline answers only, got {fr_evaded.value:.0%} of {fr_evaded.n} caught "
    f"frauds approved with in-range values (median {fr_plan['queries'].median():.0f} queries). "
    f"That is lab 02's problem, solved there by robust features and adversarial training; "
    f"the API's part is to make probing slow and visible (section 5)."))


# %% [markdown]
# ## 5 · Medical: lab 04's model theft against the hardened API
#
# Lab 04 stole the diagnosis model (a logistic regression on the 30 WDBC measurements) from a
# Python function. Here the thief works through the real API, `POST /v1/medical/predict`, one
# patient per request, with its own API key, exactly as a client of the hospital would. The
# API runs on a `ManualClock`: the thief and the honest clinicians "send" at simulated times,
# so rates and durations below are simulated hours, the same on every machine.
#
# The patients: the thief holds 200 WDBC patients without diagnoses (the data set is public);
# the other 369 are the clinic's patients. Half of those are the "past" traffic the provider
# calibrates on, the other half the patients honest clinicians ask about during the lab; all
# 369 are where we measure **fidelity**, the share of patients on which the stolen copy gives
# the victim's diagnosis. The threat is lab 01's MED-T1: "a few queries rebuild the model for
# free use".

# %%
med_served = api_bundle.served["medical"]
med_system = med_served.system
med_patients = np.vstack([med_served.data.X_train, med_served.data.X_test]).astype(np.float64)
med_order = np.random.default_rng(seed).permutation(len(med_patients))
med_X_thief = med_patients[med_order[:200]]
med_X_past = med_patients[med_order[200:385]]  # the provider's calibration traffic
med_X_clinic = med_patients[med_order[385:]]  # what honest clinicians ask about in the lab
med_X_eval = med_patients[med_order[200:]]
med_y_eval = med_system.predict(med_X_eval)
med_on_eval = f"{len(med_X_eval)} patients the thief never saw"

med_clock = apisec.ManualClock(0.0)  # simulated seconds
med_keys = apisec.KeyStore(seed)
med_tokens = apisec.TokenIssuer(np.random.default_rng(seed).bytes(32), med_clock)


def med_app(config, detector=None):
    """The medical system behind an API with this section's keys and clock."""
    return apisec.build_app(
        {"medical": med_served}, config, keys=med_keys, tokens=med_tokens, clock=med_clock,
        audit=apisec.AuditLog(np.random.default_rng(seed + 1).bytes(32), med_clock),
        detector=detector)


def med_clinic(n_clinicians, day_seed, **kwargs):
    """Honest clinicians (one key each) asking about the clinic's patients from now on."""
    day = apisec.clinic_day(len(med_X_clinic), n_clinicians=n_clinicians,
                                 start=med_clock(), seed=day_seed, **kwargs)
    keys = [med_keys.issue(f"clinician-{day_seed}-{c}", "user") for c in range(n_clinicians)]
    return apisec.ClinicTraffic(day, keys, med_X_clinic, med_system.predict(med_X_clinic))


med_weak = apisec.api_client(med_app(apisec.SecurityConfig.weak()))
med_thief_key = med_keys.issue("mallory", "user")  # the thief signs up like anyone else
med_one = med_weak.post("/v1/medical/predict", json=med_served.body(med_X_thief[:1]),
                        headers={"X-API-Key": med_thief_key})
print(f"weak API, a user's answer: HTTP {med_one.status_code} {med_one.json()}")

# %% [markdown]
# ### 5.1 The weak API: equation solving through HTTP
#
# The weak API gives every user the probabilities and limits nothing. Lab 04's equation
# solving sends a typical patient and one step along each feature (`d + 1 = 31` queries) and
# solves `logit(p) = w @ x + b` for the 31 parameters. Here each of those queries is an HTTP
# request with the thief's key. The same honest clinicians' day (5 clinicians, 8 hours) is
# also sent through the weak API, to measure what honest users get.

# %%
med_sim_weak = apisec.TrafficSim(apisec.HttpTransport(med_weak), med_clock)
med_eq_thief = apisec.ApiThief(med_sim_weak, [med_thief_key])
med_base, med_step = med_X_thief.mean(axis=0), med_X_thief.std(axis=0)
med_stolen = extraction.equation_solving_attack(med_eq_thief, med_base, med_step)
med_err_weak = extraction.parameter_error(med_system, med_stolen.w, med_stolen.b)
med_fid_weak = extraction.fidelity(med_stolen.predict(med_X_eval), med_y_eval, on=med_on_eval)
med_eq_status = med_sim_weak.frame()["status"].value_counts().to_dict()
med_useful_weak = stats.proportion(med_eq_thief.queries - med_stolen.unusable,
                                   med_eq_thief.queries,
                                   on=f"the {med_eq_thief.queries} queries equation solving needs")
med_sim_honest_weak = apisec.TrafficSim(
    apisec.HttpTransport(med_weak), med_clock, background=med_clinic(5, seed))
med_sim_honest_weak.finish()
med_honest_weak = med_sim_honest_weak.honest_served()
print(f"{med_eq_thief.requests} requests, statuses {med_eq_status}: relative error of the "
      f"stolen weights {med_err_weak:.1e}; fidelity {med_fid_weak}")
print(f"honest clinicians on the weak API: served correctly {med_honest_weak}")
claims.claim("medical: equation solving through the weak API needs d + 1 = 31 requests",
             med_eq_thief.requests, at_least=31, at_most=31)
claims.claim("medical: the weak API's probabilities give the weights (relative error)",
             med_err_weak, at_most=1e-3)
claims.claim("medical: the copy from the weak API agrees with the victim (fidelity, lower bound)",
             med_fid_weak.low, at_least=0.97)

# %% [markdown]
# ### 5.2 The hardened API: labels only, and a token bucket per key
#
# The hardened configuration answers a user with the diagnosis only (probabilities are for
# admins, `?scores=true` from a user gets 403). Without a probability there is no logit and no
# equation: the same 31 queries now stop the equation-solving thief.

# %%
med_hard_default = apisec.api_client(med_app(apisec.SecurityConfig.hardened()))
med_sim_labels = apisec.TrafficSim(apisec.HttpTransport(med_hard_default), med_clock)
med_label_key = med_keys.issue("mallory-labels", "user")
med_one = med_hard_default.post("/v1/medical/predict", json=med_served.body(med_X_thief[:1]),
                                headers={"X-API-Key": med_label_key})
print(f"hardened API, a user's answer: HTTP {med_one.status_code} {med_one.json()}")
try:
    extraction.equation_solving_attack(apisec.ApiThief(med_sim_labels, [med_label_key]),
                                       med_base, med_step)
    med_labels_stop = "solved (unexpected)"
except ValueError as med_err:
    med_labels_stop = f"stopped: {med_err}"
print(f"equation solving against labels only: {med_labels_stop}")
claims.claim("medical: labels only stop equation solving (1 = stopped)",
             float(med_labels_stop.startswith("stopped")), at_least=1.0)

# %% [markdown]
# Labels only do not stop the thief of lab 04: its **line search** needs labels only. It
# labels 20 of its patients, then halves the segment between close pairs of opposite labels,
# seven times per pair, and fits a linear model to every labelled point:
# `20 + 40 + (12 + 16) x 7 = 256` queries. What stands between it and the model is now how
# many queries the API lets one key make, and how fast.
#
# A per-key **token bucket** holds up to `burst` tokens and refills at `rate` tokens per
# second; each request takes one token, and a request that finds none gets 429 with
# `Retry-After`. Which `rate` and `burst`? Tight enough to slow the thief, loose enough never to
# refuse a clinician. We simulate clinicians at a realistic pace (sessions of a few patients
# about half a minute apart, about 40 minutes between sessions: about 4.5 requests an hour, up
# to about ten within minutes) and pick the tightest candidate that refuses none of their
# requests.

# %% [markdown]
# ### Exercise 4 · A token bucket
#
# Write `token_bucket(times, rate, burst)`: decide each request of one principal. `times` are
# the requests' arrival times in seconds (non-decreasing). The bucket
# - starts full, with `burst` tokens;
# - refills continuously at `rate` tokens per second, and never holds more than `burst`;
# - lets a request through when it holds at least one token, and takes that token; a refused
#   request takes nothing.
#
# Return one `True`/`False` per request. `rate <= 0`, `burst < 1` or decreasing `times` are
# bad input: raise `ValueError`.


# %%
def token_bucket(times, rate, burst):
    ### BEGIN SOLUTION
    if not rate > 0 or burst < 1:
        raise ValueError("rate must be positive and burst at least 1")
    times = [float(t) for t in times]
    if any(b < a for a, b in zip(times, times[1:], strict=False)):
        raise ValueError("times must not decrease")
    tokens, last, decisions = float(burst), (times[0] if times else 0.0), []
    for t in times:
        tokens = min(float(burst), tokens + (t - last) * rate)
        last = t
        decisions.append(tokens >= 1.0)
        if decisions[-1]:
            tokens -= 1.0
    return decisions
    ### END SOLUTION


# %%
### POINTS: 2
token_bucket = check(lab12.TOKEN_BUCKET, token_bucket)
### BEGIN HIDDEN TESTS
grade(lab12.TOKEN_BUCKET, token_bucket)
### END HIDDEN TESTS


# %%
ex4_rate, ex4_burst = 12 / 3600, 20  # 12 requests an hour per key, bursts of up to 20
ex4_clinician = [30.0 * k for k in range(10)]  # a session: ten patients, half a minute apart
ex4_thief = [1.0 * k for k in range(60)]  # sixty queries, one a second
ex4_table = pd.DataFrame([
    {"who": "a clinician's session (10 requests)",
     "allowed": sum(token_bucket(ex4_clinician, ex4_rate, ex4_burst))},
    {"who": "a thief's minute (60 requests)",
     "allowed": sum(token_bucket(ex4_thief, ex4_rate, ex4_burst))}])
display(plots.table(ex4_table, caption="Your bucket at 12 requests an hour, burst 20"))

# %%
med_sweep_days = [apisec.clinic_day(len(med_X_clinic), n_clinicians=10,
                                         seed=1000 * (seed + 1) + k) for k in range(10)]
med_attack_queries = apisec.line_search_query_count()
med_sweep = apisec.rate_limit_sweep(med_sweep_days, [6.0, 12.0, 30.0, 60.0],
                                         [5.0, 10.0, 20.0], attack_queries=med_attack_queries)
med_pick = med_sweep[med_sweep["refused"] == 0].sort_values(["rate per hour", "burst"]).iloc[0]
med_rate_h, med_burst = float(med_pick["rate per hour"]), float(med_pick["burst"])
display(plots.table(med_sweep.assign(**{"honest refused": med_sweep["honest refused"].map(
    lambda r: f"{r:.4f}")}).drop(columns=["refused"]), precision=1,
    caption=f"Per-key token buckets on 10 simulated days of 10 clinicians; the single-key "
            f"line search needs {med_attack_queries} queries"))
print(f"chosen: {med_rate_h:g} requests per hour per key, burst {med_burst:g} (the tightest "
      f"setting that refused no honest request)")

# %% [markdown]
# The hardened API with that bucket. The thief now uses one key and sends as fast as the API
# lets it; at a 429 it waits the `Retry-After` it was given and from then on sends one query
# per wait (a *patient* thief). Five honest clinicians work their 8-hour day at the same
# time, each with their own key: the held-out measure of what the limit costs them.

# %%
med_config = apisec.SecurityConfig.hardened().replace(rate_per_s=med_rate_h / 3600,
                                                          burst=med_burst)
med_hard = apisec.api_client(med_app(med_config))
med_sim_one = apisec.TrafficSim(apisec.HttpTransport(med_hard), med_clock,
                                     background=med_clinic(5, seed))
med_one_thief = apisec.ApiThief(med_sim_one, [med_keys.issue("mallory-1", "user")],
                                     patient=True)
med_ls_one = extraction.line_search_attack(med_one_thief, med_X_thief, seed=seed)
med_sim_one.finish()
med_fid_one = extraction.fidelity(med_ls_one.predict(med_X_eval), med_y_eval, on=med_on_eval)
med_honest_hard = med_sim_one.honest_served()
med_first_429 = med_one_thief.first_throttle
med_useful_hard = stats.proportion(med_first_429, med_attack_queries,
                                   on=f"the {med_attack_queries} queries the line search needs")
print(f"single key: the line search needs {med_one_thief.queries} queries; the API answered "
      f"{med_first_429} before its first 429; waiting out every 429, the theft took "
      f"{med_one_thief.elapsed_s / 3600:.1f} simulated hours ({med_one_thief.throttled} 429s) "
      f"for fidelity {med_fid_one}")
print(f"honest clinicians meanwhile: served correctly {med_honest_hard}")
claims.claim("medical: one key gets exactly `burst` answers before its first 429",
             med_first_429, at_least=med_burst, at_most=med_burst)
claims.claim("medical: the per-key limit stretches the single-key theft to hours",
             med_one_thief.elapsed_s / 3600, at_least=2.0)
claims.claim("medical: the patient single-key thief still completes (fidelity, lower bound)",
             med_fid_one.low, at_least=0.95)
claims.claim("medical: honest clinicians are served under the limit (lower bound)",
             med_honest_hard.low, at_least=0.95)

# %% [markdown]
# ### 5.3 The adaptive thief: many keys, each one slow
#
# Keys are cheap: a thief can open several accounts. This one wants the copy within an hour,
# opens as many keys as that takes at the permitted rate, and sends with each key no faster
# than the rate (one query per `3600 / rate` seconds), so that no bucket ever runs dry. Twenty
# honest clinicians (the whole clinic) work in the background.
#
# The API also carries a **global detector** in *shadow mode* (it watches every query, raises
# its alarm and names suspects, but refuses nothing yet), which section 5.4 explains: this run
# is also its test.

# %%
med_k = apisec.keys_needed(med_attack_queries, med_rate_h / 3600, 1.0)
med_w, med_b = extraction.victim_parameters(med_system)


def med_logit(X):
    """The provider's own decision value for each patient: the model's logit."""
    return np.asarray(X, dtype=np.float64) @ med_w + med_b


med_MARGIN = 1.0  # near the boundary: |logit| < 1, a probability between 0.27 and 0.73
med_calibration = apisec.calibrate_boundary_detector(
    apisec.near_boundary(med_logit, med_X_past, med_MARGIN), margin=med_MARGIN, window=100,
    day_length=720, false_alarm_rate=0.01, seed=seed)
med_detector = apisec.BoundaryShareDetector.from_calibration(
    med_logit, med_calibration, min_hits=3, clock=med_clock, enforce=False)
med_guarded = apisec.api_client(med_app(med_config, detector=med_detector))
med_background = med_clinic(20, seed + 7)
med_sim_many = apisec.TrafficSim(apisec.HttpTransport(med_guarded), med_clock,
                                      background=med_background)
med_sim_many.run_until(med_clock() + 1800.0)  # half an hour of honest traffic first
med_many_keys = [med_keys.issue(f"mallory-{i}", "user") for i in range(med_k)]
med_many_thief = apisec.ApiThief(med_sim_many, med_many_keys,
                                      interval_s=3600 / med_rate_h)
med_ls_many = extraction.line_search_attack(med_many_thief, med_X_thief, seed=seed)
med_fid_many = extraction.fidelity(med_ls_many.predict(med_X_eval), med_y_eval, on=med_on_eval)
med_many_429 = stats.proportion(med_many_thief.throttled, med_many_thief.requests,
                                on=f"the thief's {med_many_thief.requests} requests")
med_useful_many = stats.proportion(med_many_thief.first_throttle or med_many_thief.queries,
                                   med_attack_queries,
                                   on=f"the {med_attack_queries} queries the line search needs")
print(f"{med_k} keys at {med_rate_h:g} per hour each: {med_many_thief.queries} queries in "
      f"{med_many_thief.elapsed_s / 60:.0f} simulated minutes; rate-limit 429s: "
      f"{med_many_thief.throttled} ({med_many_429}); fidelity {med_fid_many}")
claims.claim("medical: per-key limits never fire on the spread-out thief (429s)",
             med_many_thief.throttled, at_most=0)
claims.claim("medical: the spread-out thief completes within an hour (simulated seconds)",
             med_many_thief.elapsed_s, at_most=3600)
claims.claim("medical: the spread-out thief's copy (fidelity, lower bound)", med_fid_many.low,
             at_least=0.95)

# %% [markdown]
# ### 5.4 A global detector: too many queries near the decision boundary
#
# A per-key limit sees one key; the thief's signature is spread over all of them. What the
# keys share is *where* the queries fall: a line search halves its segment towards the
# decision boundary, so most of its queries have a probability close to 0.5, which few real
# patients have. The provider knows its own model, so it scores every query (its logit) and
# counts, over the last 100 queries of **all** keys together, those with `|logit| < 1`. The
# alarm threshold is set on the past traffic for a stated false-alarm rate of 1% of honest
# days (720 requests each), pessimistically: from the upper end of the interval of the honest
# near-boundary share, since 185 patients estimate it only roughly. At an alarm, the suspects
# are the keys with at least 2 near-boundary queries among the last 1,000, making up at least
# half of their queries there; an enforcing detector blocks them (429).
#
# First the shadow run of 5.3: when did the alarm ring, and whom did it suspect? The
# false-alarm rate is measured on 300 held-out honest days drawn from the clinic's patients.

# %%
med_gen = np.random.default_rng(seed + 100)
med_held_days = apisec.near_boundary(med_logit, med_X_clinic, med_MARGIN)[
    med_gen.integers(0, len(med_X_clinic), size=(300, 720))]
med_false_alarms = stats.proportion(
    int(apisec.day_alarms(med_held_days, med_calibration.window,
                              med_calibration.threshold).sum()), 300,
    on="300 held-out honest days of 720 requests")
med_frame = med_detector.frame()
med_thief_ids = {med_keys.key_id_of(k) for k in med_many_keys}
med_is_thief = med_frame["key_id"].isin(med_thief_ids)
med_near_thief = float(med_frame.loc[med_is_thief, "near"].mean())
med_near_honest = float(med_frame.loc[~med_is_thief, "near"].mean())
med_shadow_before = int(med_is_thief.iloc[:(med_detector.first_alarm or len(med_frame)) - 1].sum())
med_flagged_thief = len(med_detector.blocked & med_thief_ids)
med_flagged_honest = len(med_detector.blocked - med_thief_ids)
print(f"threshold: {med_calibration.threshold} of the last {med_calibration.window} queries "
      f"near the boundary (honest share on past traffic {med_calibration.honest_share})")
print(f"false alarms: {med_false_alarms}")
print(f"near the boundary: {med_near_thief:.0%} of the thief's queries, {med_near_honest:.0%} "
      f"of the clinicians'")
print(f"shadow run: first alarm after {med_shadow_before} of the thief's queries; by the end "
      f"of the theft it suspected {med_flagged_thief} of the thief's {med_k} keys and "
      f"{med_flagged_honest} of the 20 clinicians")
claims.claim("medical: detector false alarms on held-out honest days (upper bound)",
             med_false_alarms.high, at_most=0.05)
claims.claim("medical: the shadow detector suspects no clinician (count)", med_flagged_honest,
             at_most=0)

# %% [markdown]
# Now the detector enforces, and the same spread-out thief (new keys, the same clinic day)
# runs again through the API. A refusal from the detector ends its theft: it keeps the
# answers it has.

# %%
med_enforcer = apisec.BoundaryShareDetector.from_calibration(med_logit, med_calibration,
                                                                 clock=med_clock)
med_enforced = apisec.api_client(med_app(med_config, detector=med_enforcer))
med_sim_enf = apisec.TrafficSim(apisec.HttpTransport(med_enforced), med_clock,
                                     background=med_clinic(20, seed + 7))
med_sim_enf.run_until(med_clock() + 1800.0)
med_enf_keys = [med_keys.issue(f"mallory-again-{i}", "user") for i in range(med_k)]
med_enf_thief = apisec.ApiThief(med_sim_enf, med_enf_keys, interval_s=3600 / med_rate_h)
try:
    extraction.line_search_attack(med_enf_thief, med_X_thief, seed=seed)
    med_enf_outcome = "not stopped"
except apisec.ThiefStopped as med_stop:
    med_enf_outcome = f"stopped: {med_stop}"
med_enf_frame = med_enforcer.frame()
med_enf_ids = {med_keys.key_id_of(k) for k in med_enf_keys}
med_before = int(med_enf_frame["key_id"].iloc[:(med_enforcer.first_alarm
                                                or len(med_enf_frame)) - 1].isin(
    med_enf_ids).sum())
med_copy_stopped = med_enf_thief.copy(med_X_thief)
med_fid_stopped = extraction.fidelity(med_copy_stopped.predict(med_X_eval), med_y_eval,
                                      on=med_on_eval)
med_useful_detected = stats.proportion(med_enf_thief.queries, med_attack_queries,
                                       on=f"the {med_attack_queries} queries the line search "
                                          f"needs")
med_honest_enf = med_sim_enf.honest_served()
print(f"enforcing: first alarm after {med_before} of the thief's queries; the thief was "
      f"{med_enf_outcome}; keys blocked: {len(med_enforcer.blocked & med_enf_ids)} of the "
      f"thief's {med_k}, {len(med_enforcer.blocked - med_enf_ids)} clinicians")
print(f"the copy from the {med_enf_thief.queries} answers it got: fidelity {med_fid_stopped} "
      f"({int(round((1 - med_fid_stopped.value) * len(med_X_eval)))} patients differ, against "
      f"{int(round((1 - med_fid_many.value) * len(med_X_eval)))} for the full theft); honest "
      f"clinicians meanwhile: {med_honest_enf}")
claims.claim("medical: the enforcing detector stops the spread-out thief (1 = stopped)",
             float(med_enf_outcome.startswith("stopped")), at_least=1.0)
claims.claim("medical: the detector fires within 100 of the spread-out thief's queries",
             med_before, at_most=100)
claims.claim("medical: the stopped thief got under half of the queries it needs (upper bound)",
             med_useful_detected.high, at_most=0.5)
claims.claim("medical: the enforcing detector blocks no clinician (count)",
             len(med_enforcer.blocked - med_enf_ids), at_most=0)

# %%
med_fig = go.Figure()
med_counts = med_frame["count"].to_numpy()
med_fig.add_trace(go.Scatter(x=np.arange(1, len(med_frame) + 1), y=med_counts, mode="lines",
                             name="near-boundary queries in the window",
                             line=dict(color=plots.COLORS["neutral"], width=2)))
med_fig.add_trace(go.Scatter(x=np.flatnonzero(med_is_thief.to_numpy()) + 1,
                             y=med_counts[med_is_thief.to_numpy()], mode="markers",
                             name="a thief query", marker=dict(color=plots.COLORS["attack"],
                                                               size=4)))
med_fig.add_hline(y=med_calibration.threshold, line_dash="dash",
                  annotation_text="alarm threshold")
med_fig.update_layout(title="The global detector over the clinic's traffic (all keys): the "
                      "spread-out thief pushes the count past the threshold",
                      xaxis_title="queries seen (all keys)",
                      yaxis_title=f"near-boundary in last {med_calibration.window}", height=380)
med_fig

# %% [markdown]
# **What it misses.** The alarm is global, the blocking per key: a key is blocked only when
# its own queries show the pattern (2 near-boundary queries, half of its own). A thief with
# one account per query (256 free accounts, or stolen keys) gives no key any evidence: the
# alarm rings, but there is no one to block. We run that thief at the same overall pace as the
# spread-out thief against the same rules without HTTP (`DirectTransport`: the per-key limit,
# then a fresh enforcing detector, then the model, in the app's order), to stay within the
# lab's time budget. (A thief could also dilute its queries with
# natural patients to keep the window's count under the threshold, at the cost of many times
# the requests; how far it must dilute depends on the threshold, and this section does not
# measure it.)

# %%
med_mass_detector = apisec.BoundaryShareDetector.from_calibration(med_logit, med_calibration,
                                                                      clock=med_clock)
med_mass_direct = apisec.DirectTransport(
    med_system.predict_proba, rate_per_s=med_config.rate_per_s, burst=med_config.burst,
    clock=med_clock, detector=med_mass_detector)
med_sim_mass = apisec.TrafficSim(med_mass_direct, med_clock,
                                      background=med_clinic(20, seed + 7))
med_sim_mass.run_until(med_clock() + 1800.0)
med_mass_keys = [med_keys.issue(f"sock-puppet-{i}", "user") for i in range(med_attack_queries)]
med_mass_thief = apisec.ApiThief(med_sim_mass, med_mass_keys,
                                      spacing_s=3600 / (med_rate_h * med_k))
try:
    med_ls_mass = extraction.line_search_attack(med_mass_thief, med_X_thief, seed=seed)
    med_mass_outcome = "completed"
    med_fid_mass = extraction.fidelity(med_ls_mass.predict(med_X_eval), med_y_eval,
                                       on=med_on_eval)
except apisec.ThiefStopped as med_stop:
    med_mass_outcome = f"stopped: {med_stop}"
    med_fid_mass = extraction.fidelity(med_mass_thief.copy(med_X_thief).predict(med_X_eval),
                                       med_y_eval, on=med_on_eval)
med_mass_ids = {med_keys.key_id_of(k) for k in med_mass_keys}
med_mass_alarm = med_mass_detector.first_alarm
print(f"one key per query ({len(med_mass_keys)} keys): alarm "
      f"{'rang' if med_mass_alarm else 'did not ring'} ({med_mass_detector.alarms} queries at or "
      f"over the threshold); keys blocked: {len(med_mass_detector.blocked & med_mass_ids)}; "
      f"theft {med_mass_outcome} in {med_mass_thief.elapsed_s / 60:.0f} simulated minutes; "
      f"fidelity {med_fid_mass}")
claims.claim("medical: the one-key-per-query thief still rings the alarm (1 = rang)",
             float(med_mass_alarm is not None), at_least=1.0)
claims.claim("medical: ... but none of its keys is blocked (count)",
             len(med_mass_detector.blocked & med_mass_ids), at_most=0)
claims.claim("medical: ... and it completes the theft (fidelity, lower bound)", med_fid_mass.low,
             at_least=0.95)

# %%
med_table = pd.DataFrame([
    {"API": "weak: probabilities, no limit", "thief": "equation solving, 1 key",
     "queries answered": med_eq_thief.queries, "requests": med_eq_thief.requests,
     "429s": med_eq_thief.throttled, "simulated time": "seconds",
     "fidelity": str(med_fid_weak)},
    {"API": f"hardened: labels, {med_rate_h:g}/h per key", "thief": "line search, 1 key",
     "queries answered": med_one_thief.queries, "requests": med_one_thief.requests,
     "429s": med_one_thief.throttled,
     "simulated time": f"{med_one_thief.elapsed_s / 3600:.1f} h", "fidelity": str(med_fid_one)},
    {"API": "hardened", "thief": f"line search, {med_k} slow keys",
     "queries answered": med_many_thief.queries, "requests": med_many_thief.requests,
     "429s": med_many_thief.throttled,
     "simulated time": f"{med_many_thief.elapsed_s / 60:.0f} min",
     "fidelity": str(med_fid_many)},
    {"API": "hardened + global detector", "thief": f"line search, {med_k} slow keys",
     "queries answered": med_enf_thief.queries, "requests": med_enf_thief.requests,
     "429s": med_enf_thief.throttled,
     "simulated time": f"{med_enf_thief.elapsed_s / 60:.0f} min, then blocked",
     "fidelity": str(med_fid_stopped)},
    {"API": "hardened + global detector",
     "thief": f"line search, one key per query ({len(med_mass_keys)} keys)",
     "queries answered": med_mass_thief.queries, "requests": med_mass_thief.requests,
     "429s": med_mass_thief.throttled,
     "simulated time": f"{med_mass_thief.elapsed_s / 60:.0f} min",
     "fidelity": str(med_fid_mass)},
])
display(plots.table(med_table, caption=f"Stealing the diagnosis model through the API; "
                                       f"fidelity on {med_on_eval}"))

# %% [markdown]
# ### 5.5 Pen test
#
# The section's rows of the pen test, against the hardened API: a burst over the per-key limit
# (429), a user downloading the model (403) or asking for probabilities (403), a user's
# ordinary request (200, labels only), and a request from a key the enforcing detector
# blocked (429).

# %%
med_user = {"X-API-Key": med_keys.issue("pen-tester", "user")}
med_flagged = {"X-API-Key": next(k for k in med_enf_keys
                                 if med_keys.key_id_of(k) in med_enforcer.blocked)}
med_far = int(np.abs(med_logit(med_X_clinic)).argmax())  # a patient far from the boundary
med_body = med_served.body(med_X_clinic[med_far:med_far + 1])
med_cases = [
    apisec.PenTestCase("burst over the rate limit", "medical", "MED-T1", "POST",
                            "/v1/medical/predict", headers={"X-API-Key": med_keys.issue(
                                "pen-burst", "user")}, body=med_body, expected=429,
                            repeat=int(med_burst) + 1),
    apisec.PenTestCase("user downloads the model", "medical", "MED-T1", "GET",
                            "/v1/medical/model", headers=med_user, expected=403),
    apisec.PenTestCase("user asks for raw scores", "medical", "MED-T1", "POST",
                            "/v1/medical/predict?scores=true", headers=med_user, body=med_body,
                            expected=403),
    apisec.PenTestCase("user's answer: labels only", "medical", "MED-T1", "POST",
                            "/v1/medical/predict", headers=med_user, body=med_body,
                            expected=200),
    apisec.PenTestCase("key flagged by the detector", "medical", "MED-T1", "POST",
                            "/v1/medical/predict", headers=med_flagged, body=med_body,
                            expected=429),
]
med_pentest_table = apisec.run_pentest(med_enforced, med_cases)
med_labels_only = "probabilities" not in med_enforced.post(
    "/v1/medical/predict", json=med_body, headers=med_user).json()
display(plots.table(med_pentest_table, caption="Pen test, medical section"))
PENTEST.append(med_pentest_table)
claims.claim("medical: every pen-test row passed (share)", med_pentest_table["passed"].mean(),
             at_least=1.0)
claims.claim("medical: no pen-test request got a 5xx", med_pentest_table["server_errors"].sum(),
             at_most=0)
claims.claim("medical: the user's answer is labels only (1 = yes)", float(med_labels_only),
             at_least=1.0)

# %%
display(Markdown(
    f"**What changed and why.** With probabilities, {med_eq_thief.requests} HTTP requests "
    f"stole the diagnosis model's parameters (relative error {med_err_weak:.0e}). Labels only "
    f"stopped equation solving, but not lab 04's line search, which needs "
    f"{med_attack_queries} labels. A per-key token bucket of {med_rate_h:g} requests an hour "
    f"(burst {med_burst:g}), chosen so that no simulated clinician was ever refused "
    f"(held-out: {med_honest_hard.value:.1%} of honest requests served correctly), answered "
    f"one key {med_first_429} queries before its first 429 and stretched the theft to "
    f"{med_one_thief.elapsed_s / 3600:.1f} simulated hours; it did not stop it. Spread over "
    f"{med_k} keys, each one slow, the thief was never throttled and finished within an hour "
    f"(fidelity {med_fid_many.value:.3f}): a per-key limit is a limit per key, and keys are "
    f"cheap. The global detector, which counts near-boundary queries over all keys, rang "
    f"after {med_before} of the thief's queries with {med_false_alarms.successes} false alarms "
    f"in 300 honest days; but a line search's first queries already carry most of this "
    f"easy model (the copy it kept: fidelity {med_fid_stopped.value:.3f}), and a thief "
    f"with one key per query rang the alarm but gave the detector no key to block, and "
    f"finished (fidelity {med_fid_mass.value:.3f}). The detector raises the thief's cost "
    f"(accounts, time) and tells the provider a theft is under way; it does not make theft "
    f"impossible. Both per-key controls, the limit and the blocking, assume keys are scarce; "
    f"making them scarce (verified sign-up, limits per organisation) is the next control to "
    f"test, not one this section measured."))

# %% [markdown]
# For the lab's summary, an attack's **success** is the share of the queries the theft needs
# that the API answered usefully before its first refusal: with probabilities, every query of
# equation solving; with labels and the per-key limit, the single key's burst out of the line
# search's queries; spread over slow keys, all of them. The note adds what that share leaves
# out (time, keys, the detector).

# %%
SUMMARY["medical"] = {
    "attack": "model theft through the API (lab 04)",
    "success_weak": med_useful_weak,
    "success_hardened": med_useful_hard,
    "success_adaptive": med_useful_many,
    "honest_weak": med_honest_weak,
    "honest_hardened": med_honest_hard,
    "note": (f"success = share of the queries the theft needs answered usefully before the "
             f"first refusal; one patient key still finished in "
             f"{med_one_thief.elapsed_s / 3600:.0f} h; {med_k} slow keys were never throttled; "
             f"a global near-boundary detector blocked them after {med_enf_thief.queries} "
             f"queries (copy fidelity {med_fid_stopped.value:.2f}); one key per query evaded "
             f"the blocking"),
}


# %% [markdown]
# ## The pen test, all sections together
#
# Each section ran its part of the plan and kept the results. Together they are the pen-test
# report: every case, the status it had to get, the status it got, and whether the audit log
# recorded the request. The test passes only if every case got its intended status and no case
# got a 500 (a crash is never the intended way to refuse).


# %%
pentest = pd.concat(PENTEST, ignore_index=True)
pentest_by_status = (pentest.groupby("expected")
                     .agg(cases=("case", "size"), passed=("passed", "sum"),
                          audited=("audited", "sum"))
                     .reset_index())
display(plots.table(pentest, caption=f"The pen test: {len(pentest)} cases over "
                    f"{pentest['system'].nunique()} systems"))
display(plots.table(pentest_by_status, caption="Cases by intended status"))
pentest_passed = stats.proportion(pentest["passed"].astype(int).to_numpy(),
                                  on=f"{len(pentest)} pen-test cases")
pentest_500 = int((pentest["observed"] >= 500).sum())
pentest_audited = stats.proportion(pentest["audited"].astype(int).to_numpy(),
                                   on=f"{len(pentest)} pen-test cases")
print(f"cases with the intended status: {pentest_passed}; answered 5xx: {pentest_500}; "
      f"recorded in the audit log: {pentest_audited}")
claims.claim("pen test: every case gets its intended status", pentest_passed.value,
             at_least=1.0)
claims.claim("pen test: no case is answered with a 5xx", pentest_500, at_most=0)
claims.claim("pen test: the audit log records every case", pentest_audited.value, at_least=1.0)
claims.claim("pen test: the statuses 401, 403, 413, 422 and 429 are all exercised",
             len({401, 403, 413, 422, 429} & set(pentest["expected"])), at_least=5)


# %% [markdown]
# ## Summary: five systems, one API
#
# One row per section: the attack it ran, its success against the weak configuration and
# against the hardened one, what the adaptive attacker got against the hardened one, and the
# share of honest requests each configuration served correctly (the cost of the controls).


# %%
summary_domains = [d for d in catalogue.DOMAINS if d in SUMMARY]


def summary_cell(rate):
    return f"{rate.value:.2f} [{rate.low:.2f}, {rate.high:.2f}]"


summary = pd.DataFrame([{
    "system": d, "attack": SUMMARY[d]["attack"],
    "success, weak API": summary_cell(SUMMARY[d]["success_weak"]),
    "success, hardened": summary_cell(SUMMARY[d]["success_hardened"]),
    "adaptive, hardened": summary_cell(SUMMARY[d]["success_adaptive"]),
    "honest served, weak": summary_cell(SUMMARY[d]["honest_weak"]),
    "honest served, hardened": summary_cell(SUMMARY[d]["honest_hardened"]),
    "what the adaptive attacker did": SUMMARY[d]["note"]} for d in summary_domains])
display(plots.table(summary, caption="Attack success (95% CI) and honest requests served, "
                    "weak and hardened API"))


# %%
summary_fig = go.Figure()
for summary_key, summary_name, summary_role in (
        ("success_weak", "attack, weak API", "attack"),
        ("success_hardened", "attack, hardened API", "defended"),
        ("success_adaptive", "adaptive attack, hardened API", "accent"),
        ("honest_hardened", "honest requests served, hardened", "baseline")):
    summary_rates = [SUMMARY[d][summary_key] for d in summary_domains]
    summary_fig.add_bar(
        x=summary_domains, y=[r.value for r in summary_rates], name=summary_name,
        marker_color=plots.COLORS[summary_role],
        error_y=dict(type="data", symmetric=False,
                     array=[r.high - r.value for r in summary_rates],
                     arrayminus=[r.value - r.low for r in summary_rates]))
summary_fig.update_layout(barmode="group", yaxis_title="share (95% CI)", yaxis_range=[0, 1.05],
                          title="The hardened API stops the attacks and still serves honest "
                                "users; the adaptive attacker shows what is left")
summary_fig


# %%
summary_weak = min(SUMMARY[d]["success_weak"].low for d in summary_domains)
summary_weak_value = min(SUMMARY[d]["success_weak"].value for d in summary_domains)
summary_hard = max(SUMMARY[d]["success_hardened"].high for d in summary_domains)
summary_honest = min(SUMMARY[d]["honest_hardened"].low for d in summary_domains)
summary_adaptive = [d for d in summary_domains if SUMMARY[d]["success_adaptive"].value > 0.5]
display(Markdown(
    f"**What the sections show together.** Against the weak configuration every section's "
    f"attack worked (the lowest lower bound of its success is {summary_weak:.2f}); against the "
    f"hardened one no section's attack succeeded more often than {summary_hard:.2f} (highest "
    f"upper bound), while honest requests were still served (lowest lower bound "
    f"{summary_honest:.2f}). The adaptive attacker got most of what it wanted in "
    f"{len(summary_adaptive)} section(s) ({', '.join(summary_adaptive) or 'none'}): each row's "
    f"note says how. API controls decide who may ask what and how often; they do not make a "
    f"question harmless, so what a permitted caller can learn from permitted answers is the "
    f"subject of labs 02-06 and of the monitoring of lab 13."))
claims.claim("summary: every section's attack works on the weak API (smallest success)",
             summary_weak_value, at_least=0.5)
claims.claim("summary: the hardened API stops every section's attack (largest upper bound)",
             summary_hard, at_most=0.35)
claims.claim("summary: the hardened API serves honest requests (smallest lower bound)",
             summary_honest, at_least=0.9)


# %% [markdown]
# ## Challenge · The clinic portal
#
# The hospital's patient portal is a second, separate API (`apisec.portal_app`): a patient
# reads their own diagnosis, the records office reads everyone's. It has the controls of this
# lab's sections: API keys, an object-level check on the per-patient route, an admin-only list.
# One flaw of another kind is planted in it. `lab12.portal_task(seed=...)` gives you a portal
# holding 40 synthetic patients and the key of one of them: `task.client` (an HTTP client of
# the portal: `task.client.get(path, headers=...)`, `.post`, `.patch`), `task.api_key` (send
# it as the `X-API-Key` header), `task.patient_id` (yours), `task.n_patients`.
#
# Write `steal_results(task)`, returning `{patient_id: diagnosis}` for as many OTHER patients as
# you can (the check wants at least 90% of them right, on portals you have not seen). Work as a
# pen tester: read the portal's schema (`task.client.get("/openapi.json").json()`), list its
# routes, and try each one with the questions of this lab's pen-test plan. Do not read the
# portal's source: finding the flaw is the exercise.


# %%
def steal_results(task):
    ### BEGIN SOLUTION
    headers = {"X-API-Key": task.api_key}
    # PATCH /v2/me copies every field of its body onto the caller's profile (mass assignment,
    # OWASP API3:2023 "broken object property level authorization"): the role is one of them
    task.client.patch("/v2/me", headers=headers,
                      json={"display_name": "patient", "role": "admin"})
    answer = task.client.get("/v2/admin/results", headers=headers)
    if answer.status_code != 200:
        return {}
    return {int(r["patient_id"]): int(r["diagnosis"]) for r in answer.json()}
    ### END SOLUTION


# %%
### POINTS: 3
steal_results = check(lab12.CHALLENGE, steal_results)
### BEGIN HIDDEN TESTS
grade(lab12.CHALLENGE, steal_results)
### END HIDDEN TESTS


# %%
challenge_rows = []
for challenge_fixed in (False, True):
    challenge_task = lab12.portal_task(seed=1000 + seed, fixed=challenge_fixed)  # never graded
    challenge_out = lab12.challenge_outcome(challenge_task, steal_results(challenge_task))
    challenge_rows.append({"portal": "repaired" if challenge_fixed else "as deployed",
                           **challenge_out})
challenge_frame = pd.DataFrame(challenge_rows)
display(plots.table(challenge_frame, caption="Your attack on a fresh portal, before and after "
                    "the repair"))
claims.claim("challenge: the attack gets other patients' diagnoses from the deployed portal",
             challenge_frame.loc[0, "share_stolen"], at_least=0.9)
claims.claim("challenge: the repaired portal gives none", challenge_frame.loc[1, "share_stolen"],
             at_most=0.0)


# %% [markdown]
# The portal's profile update bound the request body to the stored profile field by field, so
# a field the form never shows (the role) could be written by anyone who guessed its name.
# This is OWASP API3:2023, broken object property level authorization, often called mass
# assignment. The repair is the same rule as in the sections, applied to properties: the body
# model forbids fields it does not list (`extra="forbid"`, so the request gets 422), and the
# handler copies only the fields a patient may change. A pen-test plan built from the threat
# model finds it by asking, for every route that writes, "which properties can this caller
# set?"; the route list alone would not.


# %% [markdown]
# ## Reflection
#
# Answer each question in its cell; the rubric in the instructor's version gives the points.


# %% [markdown]
# ### POINTS: 3
# **1.** Your team proposes to drop the JWTs and keep only API keys, "because keys cannot be
# forged". Using this lab's findings, give one advantage and two risks of each, and say which
# you would choose for the diagnosis aid's clinicians.
#
# ### BEGIN SOLUTION
# Model answer: API keys are simple and revocable at once (the server looks each one up), but
# they are long-lived bearer secrets that leak through logs, code and scripts, and carry no
# expiry or claims. JWTs expire on their own and carry role and tenant without a lookup, but
# verification has classic pitfalls (alg=none, algorithm confusion, guessable HMAC secrets,
# missing exp), and a stolen token stays valid until it expires unless the server keeps a
# revocation list. For clinicians: short-lived tokens issued after a key or single sign-on
# login, verified with a pinned algorithm and a strong secret or an asymmetric key, plus
# revocation. Rubric: 1 point per approach's trade-offs, 1 for a justified choice.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **2.** The per-key rate limit never fired against the thief who spread its queries over
# several keys. Propose two further controls and say what each costs honest users.
#
# ### BEGIN SOLUTION
# Model answer: limits per account, organisation or payment instrument rather than per key
# (keys are cheap; identities are not), with verified sign-up; a detector that looks across
# keys at the pattern of queries (boundary-hugging or near-duplicate inputs, as in the medical
# section and lab 04's PRADA), with a stated false-alarm rate; labels instead of scores and
# coarser answers (lab 04); query budgets per billing period. Costs: friction at sign-up,
# false alarms on unusual but honest users (measured in the medical section), less useful
# answers. Rubric: 1 point per control with its cost, 1 for noting that the detector's false
# alarms must be measured.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **3.** The audit log stores no raw inputs. During an incident, what can a responder still
# establish from it, and what can they not? Is that the right trade-off under GDPR?
#
# ### BEGIN SOLUTION
# Model answer: from principal ids, times, routes, systems, outcomes, row counts and keyed
# digests a responder can reconstruct who called what when, spot floods and refusals, link
# repeated identical requests, and scope which accounts to revoke; they cannot see what was
# asked or answered, so they cannot replay an attack's inputs or tell which patient a request
# concerned without the pseudonym key. Under GDPR (data minimisation, storage limitation,
# security of processing) that is the right default; raw inputs, if ever needed, belong in a
# separate store with access control and a short retention. Rubric: 1 point for what it can
# do, 1 for what it cannot, 1 for the GDPR reasoning.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **4.** The schemathesis run found no server error on the hardened API. What does that
# establish, and what does it not? Name one class of flaw that no schema-driven fuzzer finds.
#
# ### BEGIN SOLUTION
# Model answer: the bounded fuzz shows that, for the inputs it generated from the schema (and
# the negative cases it derived), the app never crashed and every response matched the schema;
# it is evidence, not proof, and is limited by the examples and time it was given. It cannot
# judge authorisation logic (whether a user may read another tenant's data, or set their own
# role, as in the challenge), business logic, or abuse through valid requests (theft by
# permitted queries, slow floods): those need a threat-model-driven test plan. Rubric: 1 point
# for what it shows, 1 for its limits, 1 for a correct class of flaw.
# ### END SOLUTION


# %% [markdown]
# ## Further reading
#
# - OWASP API Security Top 10 (2023): API1 broken object level authorization, API2 broken
#   authentication, API3 broken object property level authorization, API4 unrestricted
#   resource consumption; OWASP ML Top 10 ML05 (model theft).
# - RFC 7519 (JSON Web Token), RFC 8725 (JWT Best Current Practices); the PyJWT documentation.
# - FastAPI, "Security" and "Handling errors"; Starlette middleware; uvicorn.
# - Schemathesis documentation; Hypothesis, "What you can generate and how".
# - Juuti et al., "PRADA: Protecting against DNN Model Stealing Attacks" (2019); Tramer et al.,
#   "Stealing Machine Learning Models via Prediction APIs" (2016).
# - NIST SP 800-63B (authentication), SP 800-92 (log management); NIST CSF 2.0 PR.AA and DE.CM;
#   MITRE ATLAS AML.T0040 (ML model inference API access) and AML.M0004 (restrict number of ML
#   model queries).


# %%
api_port = api_server.port
api_server.stop()
api_closed = not apisec.port_is_open(api_port)
print(f"the lab's server on 127.0.0.1:{api_port} is stopped; port closed: {api_closed}")
claims.claim("the lab's server is stopped and its port closed", float(api_closed), at_least=1.0)
