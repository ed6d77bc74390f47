"""Tests of lab 12's image section: credential attacks on the weak and hardened API, the
adaptive attacker, honest traffic and the authentication pen-test rows."""

from __future__ import annotations

import numpy as np
import pytest

from mlsec_helpers.apisec import common, image, pentest
from mlsec_helpers.apisec.results import AttackTrial, SecretSearch
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def bundle():
    return common.reference_apis(0)


@pytest.fixture(scope="module")
def digits(bundle):
    served = bundle.served["image"]
    idx = np.arange(6)
    bodies = [served.test_body(1, int(i)) for i in idx]
    return bodies, served.system.predict(served.data.X_test[idx])


def test_token_parts_reads_without_verifying(bundle):
    token = bundle.weak_tokens.issue(bundle.principal("user"), 60)
    parts = image.token_parts(token)
    assert parts["header"]["alg"] == "HS256" and parts["claims"]["sub"] == "alice"
    assert parts["signature_bytes"] == 32
    for bad in ("a.b", "!!.??.**"):
        with pytest.raises(ValueError):
            image.token_parts(bad)


def test_crack_finds_the_weak_secret_and_not_the_strong_one(bundle):
    weak = image.crack_token_secret(bundle.weak_tokens.issue(bundle.principal("user"), 60))
    assert isinstance(weak, SecretSearch) and weak.cracked and weak.found == b"secret"
    assert weak.tried == image.SECRET_WORDLIST.index("secret") + 1
    strong = image.crack_token_secret(bundle.hardened_tokens.issue(bundle.principal("user"), 60),
                                      secret_bits=256)
    assert not strong.cracked and strong.tried == len(image.SECRET_WORDLIST)
    with pytest.raises(ValueError, match="HMAC"):
        image.crack_token_secret(common.forge_token({"sub": "x"}))
    with pytest.raises(ValueError):
        image.crack_token_secret("a.b.c", wordlist=[])


def test_weak_api_lets_credential_attacks_through(bundle, digits):
    bodies, _ = digits
    trials = image.credential_attacks(bundle, common.api_client(bundle.weak_app), bodies,
                                      api="weak")
    served = {t.attack: t.served for t in trials}
    assert served["no key"] == 0 and served["wrong key"] == 0
    for attack in ("revoked key", "expired token", "forged alg=none token",
                   "token signed with a guessed secret"):
        assert served[attack] == len(bodies), attack
    table = image.trials_table(trials)
    assert len(table) == 6 and set(table["API"]) == {"weak"}


def test_hardened_api_refuses_every_credential_attack_with_401(bundle, digits):
    bodies, _ = digits
    client = common.api_client(bundle.hardened_app)
    trials = (image.credential_attacks(bundle, client, bodies, api="hardened")
              + image.adaptive_credential_attacks(bundle, client, bodies))
    assert len(trials) == 13
    for trial in trials:
        assert isinstance(trial, AttackTrial)
        assert trial.served == 0 and trial.statuses == {401: len(bodies)}, trial.attack
        assert trial.rate.high < 0.5


def test_honest_users_are_served_on_both(bundle, digits):
    bodies, labels = digits
    for api, app in (("weak", bundle.weak_app), ("hardened", bundle.hardened_app)):
        trials = image.honest_digit_traffic(bundle, common.api_client(app), bodies, labels,
                                            api=api)
        assert [t.served for t in trials] == [3, 3]
    wrong = (np.asarray(labels) + 1) % 10
    trials = image.honest_digit_traffic(bundle, common.api_client(bundle.hardened_app), bodies,
                                        wrong, api="hardened")
    assert sum(t.served for t in trials) == 0  # the label is checked, not only the status


def test_auth_pentest_cases_pass_on_hardened_and_fail_on_weak(bundle, digits):
    bodies, _ = digits
    cases = image.auth_pentest_cases(bundle, bodies[0])
    table = pentest.run_pentest(common.api_client(bundle.hardened_app), cases)
    assert table["passed"].all() and table["audited"].all()
    assert set(table["expected"]) == {401, 403, 200}
    weak = pentest.run_pentest(common.api_client(bundle.weak_app),
                               image.auth_pentest_cases(bundle, bodies[0]),
                               audit=bundle.weak_audit)
    assert not weak["passed"].all()


def test_bad_input(bundle, digits):
    bodies, labels = digits
    client = common.api_client(bundle.hardened_app)
    with pytest.raises(ArgumentTypeError):
        image.credential_attacks("bundle", client, bodies, api="weak")
    with pytest.raises(ValueError, match="api"):
        image.credential_attacks(bundle, client, bodies, api="medium")
    with pytest.raises(ValueError, match="bodies"):
        image.adaptive_credential_attacks(bundle, client, [])
    with pytest.raises(ValueError, match="labels"):
        image.honest_digit_traffic(bundle, client, bodies, labels[:2], api="weak")
    with pytest.raises(ValueError):
        image.honest_digit_traffic(bundle, client, bodies[:1], labels[:1], api="weak")
    with pytest.raises(ValueError):
        image.trials_table([])
    with pytest.raises(ValueError, match="system"):
        image.auth_pentest_cases(bundle, bodies[0], system="audio")
    with pytest.raises(ArgumentTypeError):
        image.auth_pentest_cases(bundle, "body")
