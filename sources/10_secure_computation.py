# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 10 · Secure computation: models and data that stay encrypted
#
# A patient wants a diagnosis without showing a server her measurements; a bank wants a fraud
# score without handing a vendor its transactions; a company wants its model file useless to
# whoever copies the backup. This lab computes the five systems' predictions on encrypted data
# (homomorphic encryption, CKKS, with TenSEAL) and on secret shares held by three parties
# (additive secret sharing with Beaver triples), seals each model file with an authenticated
# cipher, and measures what each costs in time, bytes and precision, and what none of them
# stops.
#
# **Learning objectives.** After this lab you can
# 1. state a technique's threat model: who holds the key, who is honest-but-curious, and what
#    leaks anyway (the output, sizes, timing, the number of queries);
# 2. run a linear model's inference under CKKS, one ciphertext per query and packed, and
#    measure its time, ciphertext size and precision;
# 3. approximate a sigmoid by a polynomial and explain why its input range decides accuracy;
# 4. share a value among three parties, multiply shares with a Beaver triple, and say what
#    each party sees;
# 5. seal a model file with AES-GCM and envelope keys, detect tampering, rotate keys;
# 6. show, measured, that an encrypted prediction API still allows model extraction and
#    membership inference.
#
# **Prerequisites:** labs 00, 04 (model theft) and 05 (membership inference); modular
# arithmetic at the level of "numbers wrap around".
# **Estimated time:** about 240 minutes of reading, exercises and questions (estimated from
# the notebook; the notebook itself runs in under a minute).


# %%
import copy
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import tenseal as ts
import torch
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from IPython.display import Markdown, display
from scipy.special import softmax
from scipy.stats import spearmanr
from sklearn.metrics import precision_recall_curve

from mlsec_helpers import (
    catalogue,
    claims,
    extraction,
    frameworks,
    fraud_sim,
    plots,
    privacy,
    repro,
    securecomp,
    stats,
    systems,
)
from mlsec_helpers.checks import lab10
from mlsec_helpers.data import load_dataset
from mlsec_helpers.exercises import check, grade

info = repro.setup(seed=0)  # seeds python, numpy and torch; caps threads; picks the device
seed = info["seed"]  # every model this lab trains live, and every attack's randomness
print(info)
display(Markdown(frameworks.lab_header_markdown(10)))
SUMMARY = {}  # one row per domain, for the summary at the end


# %% [markdown]
# ## The threat in one picture
#
# In every lab so far the server saw the data it scored and held the model in clear. Here the
# data owner keeps a secret key (or splits its data into shares), the server computes without
# reading, and the model file is sealed on disk. The attacker is whoever would read what they
# are not meant to: a curious server, a party to the computation, a thief with a copy of the
# disk, and, still, a client who simply queries.


# %%
securecomp.trust_diagram()


# %% [markdown]
# ## The two tools, one cell each
#
# **CKKS** (Cheon, Kim, Kim and Song, 2017) encrypts a vector of real numbers; anyone with the
# public evaluation keys can add and multiply ciphertexts, and only the secret key decrypts.
# Results are approximate: every operation adds a little noise, and each multiplication
# consumes one level of the modulus chain, so a context allows only so many.


# %%
tools_ctx = securecomp.ckks_context()
tools_a, tools_b = np.array([1.5, -2.0, 3.25]), np.array([0.5, 4.0, -1.0])
tools_enc = ts.ckks_vector(tools_ctx, tools_a)  # what the data owner sends
tools_out = (tools_enc * tools_b + tools_b).decrypt()  # computed on the ciphertext
tools_err = float(np.abs(np.array(tools_out) - (tools_a * tools_b + tools_b)).max())
print(f"encrypted a * b + b = {np.round(tools_out, 6)}, plaintext {tools_a * tools_b + tools_b}"
      f"\nlargest error {tools_err:.1e}; one ciphertext is "
      f"{securecomp.serialized_size(tools_enc) / 1e3:.0f} kB for {len(tools_a)} numbers")
claims.claim("CKKS computes a * b + b on a ciphertext within 1e-4", tools_err, at_most=1e-4)


# %% [markdown]
# **Additive secret sharing** splits a value into random numbers that add up to it modulo
# 2^64: any two of three shares are uniformly random, all three give the value back. Real
# numbers travel in fixed point (`round(x * 2**20)`). Sums of shares are shares of sums, so
# parties add without talking; a product needs help (a Beaver triple, in section 5).


# %%
tools_shares = securecomp.share(tools_a, 3, seed=seed)
tools_sum = securecomp.reconstruct(tools_shares + securecomp.share(tools_b, 3, seed=seed + 1))
print("the three parties' shares of a (uint64, each uniformly random):")
print(tools_shares)
print(f"shares of a plus shares of b reconstruct to {tools_sum} (a + b = {tools_a + tools_b})")


# %% [markdown]
# ### Exercise 1 · Put the shares back together
#
# Write `reconstruct(shares, frac_bits)`: `shares` is a `uint64` array (n_parties, ...)
# whose sum modulo 2^64 is the fixed-point encoding `round(x * 2**frac_bits)` of `x`, with a
# negative value wrapped to `2^64 - |v|`. Add the shares modulo 2^64 (numpy's `uint64`
# arithmetic wraps by itself), read the result as a **signed** 64-bit integer
# (`.view(np.int64)`), divide by `2**frac_bits`, and return float64 values of shape
# `shares.shape[1:]`. Shares that are not `uint64` are bad input: raise `TypeError`.


# %%
def reconstruct(shares, frac_bits):
    ### BEGIN SOLUTION
    s = np.asarray(shares)
    if s.dtype != np.uint64:
        raise TypeError("shares must be a uint64 array of ring elements")
    return s.sum(axis=0, dtype=np.uint64).view(np.int64).astype(np.float64) / 2.0 ** frac_bits
    ### END SOLUTION


# %%
### POINTS: 1
reconstruct = check(lab10.RECONSTRUCT, reconstruct)
### BEGIN HIDDEN TESTS
grade(lab10.RECONSTRUCT, reconstruct)
### END HIDDEN TESTS


# %%
# Your reconstruction of the shares above; and what two parties who pool their shares see.
print(f"your reconstruction of a: {reconstruct(tools_shares, 20)}")
print(f"parties 0 and 1 pooled: {reconstruct(tools_shares[:2], 20)} (meaningless without the "
      "third)")


# %% [markdown]
# ## 1 · Image: a digit read on an encrypted image
#
# A phone photographs a handwritten digit and asks a model server to read it. The image may be
# private (a cheque, a form); the model is the server's. Can the server read the digit
# without seeing it? With CKKS homomorphic encryption it computes on the ciphertext; with
# secret sharing, three servers compute on shares that each look random. Both evaluate
# **additions and multiplications** only, so the first question is whether lab 00's digit
# reader is made of those.


# %%



img_t0, img_cpu0 = time.perf_counter(), time.process_time()
img_data = load_dataset("image", seed=0)
img_X, img_y = img_data.X_test, img_data.y_test
img_on = f"the {len(img_y):,} test digits"
# lab 00's CNN from its seed-0 checkpoint for every seed: retraining it for another seed
# takes longer than this section's budget (systems.reference_system("image", seed=1) does it)
img_cnn = systems.reference_system("image", seed=0)
print(f"reference CNN: {img_cnn.source_}")
img_cnn_acc = stats.proportion(img_cnn.predict(img_X) == img_y, on=img_on)
img_nonpoly = securecomp.non_polynomial_layers(img_cnn.model)
display(plots.table(pd.DataFrame(img_nonpoly, columns=["layer", "type"]),
                    caption="layers of lab 00's digit CNN that CKKS cannot evaluate exactly"))
print(f"reference CNN accuracy {img_cnn_acc}; {len(img_nonpoly)} of its layers are not "
      "additions or multiplications: "
      + ", ".join(sorted({t for _, t in img_nonpoly})))


# %% [markdown]
# ReLU is `max(x, 0)` and max-pooling keeps the largest of four values: comparisons, which
# CKKS cannot compute; it only approximates them with polynomials whose error grows outside
# the range they were fitted on (the medical section shows that pitfall on the sigmoid). The
# control below keeps the CNN's trained weights and replaces each ReLU by `x * x` and each
# max-pooling by average pooling, the polynomial layers an encrypted network would use.


# %%
img_swapped = copy.deepcopy(img_cnn.model).float().eval()
for _, img_layer in list(img_swapped.named_modules()):
    for img_child_name, img_child in list(img_layer.named_children()):
        if isinstance(img_child, torch.nn.ReLU):
            setattr(img_layer, img_child_name, securecomp.SquareActivation())
        elif isinstance(img_child, torch.nn.MaxPool2d):
            setattr(img_layer, img_child_name, torch.nn.AvgPool2d(2))
with torch.no_grad():
    img_swap_pred = img_swapped(torch.as_tensor(img_X)).argmax(1).numpy()
img_swap_acc = stats.proportion(img_swap_pred == img_y, on=img_on)
print(f"same weights, ReLU -> x^2 and max -> average pooling: accuracy {img_swap_acc} "
      f"(was {img_cnn_acc.value:.3f})")
claims.claim("image: the CNN's weights with polynomial layers swapped in lose accuracy "
             f"({img_on})", img_swap_acc.value, at_most=0.5)


# %% [markdown]
# The weights were learned for ReLU and max-pooling; with polynomials in their place the
# network falls apart. An encrypted reader needs a model **trained** with polynomial layers.
# We train the HE-friendly variant of TenSEAL's MNIST tutorial here (a few seconds): one 7x7
# convolution with stride 3 and 4 channels (64 windows each), the **square** as activation,
# one linear layer to 10 logits. Every step is an addition or a multiplication.


# %%
img_net = securecomp.train_square_digits_net(img_data.X_train, img_data.y_train, epochs=8,
                                           seed=seed)
img_t = time.perf_counter()
img_plain_logits = securecomp.digits_net_logits(img_net, img_X)
img_plain_ms = (time.perf_counter() - img_t) * 1000 / len(img_X)
img_net_acc = stats.proportion(img_plain_logits.argmax(1) == img_y, on=img_on)
img_cost = img_cnn_acc.value - img_net_acc.value
display(plots.table(pd.DataFrame([
    {"model": "lab 00's CNN (ReLU, max-pooling)", "accuracy": str(img_cnn_acc),
     "parameters": sum(p.numel() for p in img_cnn.model.parameters())},
    {"model": "HE-friendly variant (square, one linear layer)", "accuracy": str(img_net_acc),
     "parameters": sum(p.numel() for p in img_net.parameters())}]),
    caption=f"plaintext accuracy on {img_on} (95% Wilson intervals)"))
print(f"the HE-friendly variant costs {img_cost:.3f} of accuracy against the reference CNN")
claims.claim(f"image: the HE-friendly variant reads digits ({img_on})", img_net_acc.value,
             at_least=0.88)
claims.claim("image: the HE-friendly variant costs accuracy against lab 00's CNN", img_cost,
             at_least=0.02)


# %% [markdown]
# ### Homomorphic encryption: the phone holds the key
#
# **Threat model.** The phone generates the CKKS keys and keeps the **secret key**; it sends
# the server the public evaluation keys once, then one ciphertext per digit. The server is
# **honest-but-curious**: it runs the network on the ciphertext (its weights in plaintext) and
# would read anything it could, but holds no secret key. Only the phone decrypts the ten
# logits. What leaks anyway: the **output** to the key holder, the **sizes** of the
# ciphertexts, the server's **timing**, the number of queries, and which model is used.
#
# The phone encrypts the digit as TenSEAL's im2col encoding (the 64 windows of 7x7 pixels in
# one ciphertext); the server computes each channel's convolution, packs the four channels
# into one ciphertext, squares it, and takes ten encrypted dot products, one per digit class
# (CKKS, ring degree 8192, four multiplicative levels, scale 2^33). We measure it on a seeded
# sample of test digits: each takes a fraction of a second.


# %%
img_n_he = 12
img_pick = np.random.default_rng(seed).choice(len(img_X), img_n_he, replace=False)
img_ctx = securecomp.digits_he_context()
img_he = securecomp.encrypted_digits_logits(img_ctx, img_net, img_X[img_pick])
img_he_on = f"{img_n_he} seeded test digits"
img_he_agree = stats.proportion(img_he.agree, on=img_he_on)
img_softmax = torch.softmax(torch.as_tensor(img_he.logits), 1).numpy()
img_softmax_plain = torch.softmax(torch.as_tensor(img_he.plain_logits), 1).numpy()
img_he_proba_err = float(np.abs(img_softmax - img_softmax_plain).max())
img_key_mb = img_he.key_bytes / 1e6
img_rows = [
    ("phone: encode + encrypt + serialise", f"{img_he.encrypt_ms_per_digit:.0f} ms"),
    ("server: convolution, square, 10 dot products", f"{img_he.compute_ms_per_digit:.0f} ms"),
    ("phone: decrypt 10 logits", f"{img_he.decrypt_ms_per_digit:.1f} ms"),
    ("plaintext model, for scale", f"{img_plain_ms:.3f} ms"),
    ("ciphertext sent (one im2col-encoded digit)", f"{img_he.bytes_up_per_digit / 1e3:.0f} kB"),
    (f"ciphertexts returned ({img_he.ciphertexts_down_per_digit}, one per class)",
     f"{img_he.bytes_down_per_digit / 1e3:.0f} kB"),
    ("the digit in clear (784 float32 pixels)", f"{784 * 4 / 1e3:.1f} kB"),
    ("keys sent once (public, relinearisation, Galois)", f"{img_key_mb:.0f} MB"),
    ("max |logit - plaintext logit|", f"{img_he.max_abs_error:.1e}"),
    ("max |softmax - plaintext softmax| (softmax on the phone)", f"{img_he_proba_err:.1e}"),
    ("predicted digit equal to plaintext", str(img_he_agree))]
display(plots.table(pd.DataFrame(img_rows, columns=["what", "per digit"]),
                    caption=f"encrypted inference of the HE-friendly reader, {img_he_on}"))
claims.claim(f"image: HE predicts the plaintext model's digit on every encrypted digit "
             f"({img_he_on})", img_he_agree.value, at_least=1.0)
claims.claim("image: HE costs over 100x the plaintext time per digit",
             img_he.ms_per_digit / img_plain_ms, at_least=100)


# %% [markdown]
# ### What the curious server sees, measured
#
# The server knows the scheme and sees every ciphertext's size and its own compute time. Do
# they follow the digit? A plaintext image compressed with zlib would betray how much ink it
# has (blank pixels compress); SEAL also compresses its ciphertexts. We correlate the number of
# inked pixels with the size of each digit's ciphertext (a second seeded sample, encrypted on
# the phone's side only) and with the server's time (the digits above), and, as a control,
# with the zlib size of the same 8-bit digits in clear.


# %%
img_n_side = 80
img_side_pick = np.random.default_rng(seed + 1).choice(len(img_X), img_n_side, replace=False)
img_side_on = f"{img_n_side} seeded test digits"
img_sizes = securecomp.digits_ciphertext_sizes(img_ctx, img_X[img_side_pick])
del img_ctx  # its 66 MB of Galois keys are not needed further
img_ink = (img_X[img_side_pick] > 0).reshape(img_n_side, -1).sum(1)  # inked pixels
img_zlib = np.array([len(zlib.compress(np.round(x * 255).astype(np.uint8).tobytes()))
                     for x in img_X[img_side_pick]])  # the 8-bit image a phone would send
img_ink_he = (img_X[img_pick] > 0).reshape(img_n_he, -1).sum(1)
img_rho = {
    f"ciphertext size, {img_side_on}": spearmanr(img_sizes, img_ink).statistic,
    f"server time, the {img_he_on}": spearmanr(img_he.digit_compute_ms, img_ink_he).statistic,
    f"zlib size of the clear digit, {img_side_on} (control)":
        spearmanr(img_zlib, img_ink).statistic}
display(plots.table(pd.DataFrame({"signal": list(img_rho),
                                  "Spearman rho with inked pixels": list(img_rho.values())}),
                    caption="does what the server sees follow the digit?"))
print(f"ciphertext sizes {img_sizes.min():,}-{img_sizes.max():,} bytes "
      f"(spread {np.ptp(img_sizes) / img_sizes.mean():.2%}); server time "
      f"{img_he.digit_compute_ms.min():.0f}-{img_he.digit_compute_ms.max():.0f} ms; |rho| "
      f"above about {2 / np.sqrt(img_n_side):.2f} ({img_n_side} digits) or "
      f"{2 / np.sqrt(img_n_he):.2f} ({img_n_he}) would be a signal")
img_rho_size = img_rho[f"ciphertext size, {img_side_on}"]
img_rho_zlib = img_rho[f"zlib size of the clear digit, {img_side_on} (control)"]
claims.claim(f"image: ciphertext sizes do not follow the inked pixels (|rho|, {img_side_on})",
             abs(img_rho_size), at_most=0.35)
display(Markdown(
    f"The clear digit's compressed size follows its ink (rho {img_rho_zlib:+.2f}); the "
    f"ciphertext's does not (rho {img_rho_size:+.2f}): its few bytes of spread come from "
    "compressing uniformly random coefficients. The server runs the same sequence of "
    "operations on every ciphertext (nothing in it branches on the data), so a correlation of "
    f"its time with the digit (rho {img_rho[f'server time, the {img_he_on}']:+.2f} on "
    f"{img_n_he} digits, where |rho| must pass {2 / np.sqrt(img_n_he):.2f} to be a signal) "
    "would have to come from elsewhere, such as the machine's load changing during the run. "
    "What a curious server still learns: that a query arrived, when, from whom, and for "
    "which model."))


# %% [markdown]
# ### Secret sharing among three servers
#
# **Threat model.** The phone splits the digit into three **additive shares** (Z_2^64, fixed
# point with 20 fractional bits) and sends one to each of three servers, which know the
# model's weights. Each is **honest-but-curious**. Additive shares need all three to
# reconstruct, but the truncation after each product hands party 2's share to party 1, so
# from there on parties 0 and 1 together could: the assumption is that **no two collude**. A
# **dealer** hands out Beaver triples and colludes with none. The
# convolution and the linear layer have public weights: each server computes them on its own
# share, no message. The **square** multiplies two shared values: a Beaver triple, for which
# every server broadcasts two masked values per activation (one round for all 256). After each
# product the shares are truncated back to 20 fractional bits. The servers send their shares
# of the ten logits to the phone. What leaks anyway: the output to the phone, shapes, timing,
# traffic. We run it on every test digit (the parties are simulated in one process, every
# message counted).


# %%
img_mpc = securecomp.shared_digits_logits(img_net, img_X, seed=seed)
img_mpc_agree = stats.proportion(img_mpc.agree, on=img_on)
img_mpc_softmax = torch.softmax(torch.as_tensor(img_mpc.logits), 1).numpy()
img_mpc_proba_err = float(np.abs(img_mpc_softmax - torch.softmax(
    torch.as_tensor(img_mpc.plain_logits), 1).numpy()).max())
img_mpc_rows = [
    ("ms per digit (three parties in one process)", f"{img_mpc.ms_per_digit:.2f}"),
    ("products of shared values per digit (the square)",
     f"{img_mpc.multiplications_per_digit}"),
    ("values opened to every party per digit (E and F per product)",
     f"{img_mpc.opened_values_per_digit}"),
    ("messages per digit (input, merges, openings, outputs)",
     f"{img_mpc.messages_per_digit} in {img_mpc.rounds} rounds"),
    ("online kB per digit", f"{img_mpc.bytes_per_digit / 1e3:.0f}"),
    ("dealer's triple shares, kB per digit", f"{img_mpc.offline_bytes_per_digit / 1e3:.0f}"),
    ("max |logit - plaintext logit|", f"{img_mpc.max_abs_error:.1e}"),
    ("max |softmax - plaintext softmax|", f"{img_mpc_proba_err:.1e}"),
    ("predicted digit equal to plaintext", str(img_mpc_agree))]
display(plots.table(pd.DataFrame(img_mpc_rows, columns=["what", "value"]),
                    caption=f"three-party secret-shared inference of the HE-friendly reader, "
                            f"{img_on}"))
claims.claim(f"image: SMPC predicts the plaintext model's digit on every test digit ({img_on})",
             img_mpc_agree.value, at_least=1.0)
claims.claim("image: HE and SMPC softmax within 1e-3 of plaintext (the larger error)",
             max(img_he_proba_err, img_mpc_proba_err), at_most=1e-3)


# %%
img_fig = go.Figure()
for img_tech, img_ms, img_kb, img_colour in [
        ("plaintext (trusted server)", img_plain_ms, 784 * 4 / 1e3, plots.COLORS["baseline"]),
        ("HE, one ciphertext per digit", img_he.ms_per_digit,
         (img_he.bytes_up_per_digit + img_he.bytes_down_per_digit) / 1e3, plots.COLORS["attack"]),
        ("SMPC, 3 parties", img_mpc.ms_per_digit,
         (img_mpc.bytes_per_digit + img_mpc.offline_bytes_per_digit) / 1e3,
         plots.COLORS["defended"])]:
    img_fig.add_trace(go.Scatter(x=[img_ms], y=[img_kb], mode="markers+text", text=[img_tech],
                                 textposition="top center", name=img_tech,
                                 marker=dict(size=14, color=img_colour)))
img_fig.update_layout(title="image: what a private digit costs (log scales)",
                      xaxis=dict(type="log", title="ms per digit"),
                      yaxis=dict(type="log", title="kB per digit (both ways, with triples)"),
                      showlegend=False, height=380)
img_fig.show()


# %% [markdown]
# ### What changed and why


# %%
display(Markdown(
    "Lab 00's CNN cannot be run under CKKS as it is: its ReLUs and max-pooling compare "
    "values, and swapping in polynomials without retraining leaves "
    f"{img_swap_acc.value:.2f} accuracy (the control). An HE-friendly variant trained with a "
    f"square activation reads digits {img_cost:.3f} less well ({img_net_acc.value:.3f}), and "
    "then both techniques compute the same digits as the plaintext model: HE at "
    f"{img_he.ms_per_digit:.0f} ms and "
    f"{(img_he.bytes_up_per_digit + img_he.bytes_down_per_digit) / 1e6:.1f} MB per digit "
    f"(plus {img_key_mb:.0f} MB of keys, once), against {img_plain_ms:.3f} ms in plaintext; "
    f"secret sharing at {img_mpc.ms_per_digit:.2f} ms and "
    f"{(img_mpc.bytes_per_digit + img_mpc.offline_bytes_per_digit) / 1e3:.0f} kB per digit, "
    "but with three servers of which no two may collude, a dealer, and "
    f"{img_mpc.rounds} rounds of messages per digit, whose network latency this in-process "
    "simulation does not show. Neither hides the answer from the phone, which receives all "
    "ten logits."))


# %%
SUMMARY["image"] = {
    "model": "HE-friendly variant (7x7 conv stride 3, square, one linear layer) trained here "
             "with seed; lab 00's CNN uses ReLU and max-pooling, which CKKS cannot evaluate",
    "rows": [
        {"technique": "plaintext (trusted server)", "applies": True,
         "ms_per_prediction": img_plain_ms, "bytes_per_prediction": 784 * 4.0,
         "max_abs_error": 0.0, "agreement": 1.0,
         "trusted": "the model server sees every image",
         "leaks": "the image and the output to the server", "note": ""},
        {"technique": "HE, one ciphertext per query", "applies": True,
         "ms_per_prediction": img_he.ms_per_digit,
         "bytes_per_prediction": img_he.bytes_up_per_digit + img_he.bytes_down_per_digit,
         "max_abs_error": img_he_proba_err, "agreement": img_he_agree.value,
         "trusted": "the phone keeps its secret key",
         "leaks": "number of queries, sizes, timing; all ten logits to the key holder",
         "note": f"on {img_n_he} digits; {img_key_mb:.0f} MB of keys sent once"},
        {"technique": "HE, packed", "applies": False, "ms_per_prediction": None,
         "bytes_per_prediction": None, "max_abs_error": None, "agreement": None,
         "trusted": "", "leaks": "",
         "note": f"one digit's im2col encoding fills {7 * 7 * 8 * 8:,} of the 4,096 slots: "
                 "no room to pack a second digit at this ring degree"},
        {"technique": "SMPC, 3 parties", "applies": True,
         "ms_per_prediction": img_mpc.ms_per_digit,
         "bytes_per_prediction": img_mpc.bytes_per_digit + img_mpc.offline_bytes_per_digit,
         "max_abs_error": img_mpc_proba_err, "agreement": img_mpc_agree.value,
         "trusted": "no two parties collude; the dealer colludes with none",
         "leaks": "shapes, timing, traffic; output to the phone",
         "note": f"public weights; {img_mpc.multiplications_per_digit} Beaver products and "
                 f"{img_mpc.messages_per_digit} messages per digit; in-process, no network"},
    ],
}
print(f"image section: {time.perf_counter() - img_t0:.1f} s of cell time "
      f"({time.process_time() - img_cpu0:.1f} s of CPU)")


# %% [markdown]
# ## 2 · NLP: triage of a message the server never reads
#
# The support chatbot routes each customer message to one of nine queues (card lost, payment
# dispute, ..., scam). Lab 00's triage is TF-IDF features (word 1-2-grams and character
# 2-5-grams) and a logistic regression, one weight row per class. Customers write card
# numbers, phone numbers and complaints into these messages; here the server scores a message
# it never reads.
#
# **The cut.** The customer's app (the client) computes the TF-IDF vector itself, with the
# vectoriser the bank ships to every app, encrypts it under CKKS with a key only the app
# holds, and sends it. The server keeps the class weights, computes the nine class scores on
# the ciphertext and returns them encrypted; the app decrypts them and applies the softmax.


# %% [markdown]
# **Threat model.** Trusted: the customer's app, which holds the secret key. Honest but
# curious: the triage server, which runs the protocol as written and looks at everything it
# receives. What leaks anyway: that a message was sent and when; the ciphertexts' count and
# size, fixed by the vocabulary, not by the message (checked below); the nine scores to the
# app, which are the model's outputs (an app that sends chosen vectors can rebuild the weights,
# lab 04; the fraud section measures it), and the returned ciphertext's noise, which CKKS does
# not hide from the key holder (no circuit privacy unless the server adds noise, not done here);
# and the public vectoriser itself: its vocabulary and idf weights describe the training
# messages (measured first).


# %%


nlp_t0 = time.perf_counter()
nlp_data = load_dataset("nlp", seed=0)
nlp_system = systems.reference_system("nlp", seed=seed)
print("reference triage:", nlp_system.source_)
nlp_parts = securecomp.triage_parts(nlp_system)
nlp_words = nlp_parts.vectorizer.transformer_list[0][1]  # word 1-2-grams (chars follow)
nlp_n_words = len(nlp_words.vocabulary_)
print(f"{len(nlp_parts.class_names)} classes; TF-IDF dimension {nlp_parts.n_features:,} "
      f"({nlp_n_words:,} word n-grams, {nlp_parts.n_features - nlp_n_words:,} character "
      f"n-grams); server's weights W: {nlp_parts.W.shape}")


# %% [markdown]
# ### What the public vectoriser gives away
#
# The app needs the vocabulary (every n-gram kept from the training messages, those seen in at
# least two) and the idf weights. scikit-learn's idf is `ln((1 + n) / (1 + df)) + 1`: the
# rarest kept term sits at the cut-off (`min_df = 2`), which gives the number `n` of training
# messages, and then `df` of every term, how many training messages contain it.


# %%
nlp_leak = securecomp.idf_document_counts(nlp_parts.vectorizer)
nlp_true_df = np.asarray((nlp_words.transform(nlp_data.X_train) > 0).sum(axis=0)).ravel()
nlp_df_exact = stats.proportion(nlp_leak.document_counts[:nlp_n_words] == nlp_true_df,
                                on=f"{nlp_n_words:,} word n-grams")
nlp_digit_terms = [(t, int(c)) for t, c in zip(nlp_leak.terms[:nlp_n_words],
                                               nlp_leak.document_counts[:nlp_n_words],
                                               strict=True)
                   if sum(ch.isdigit() for ch in t) >= 7]
print(f"training messages recovered from the idf: {nlp_leak.n_documents:,} "
      f"(true: {len(nlp_data.X_train):,}); document counts exactly right: {nlp_df_exact}")
print(f"{len(nlp_digit_terms)} word n-grams of the shipped vocabulary hold 7 or more digits "
      "(phone, account and card-number fragments of training messages), e.g.:",
      nlp_digit_terms[:4])


# %% [markdown]
# So the vectoriser is not a neutral tool: it ships fragments of customers' numbers and exact
# counts of the training set to every app. The weights `W`, which turn the vector into a
# decision, stay on the server: the message must stay hidden from the server that holds them,
# and they must stay hidden from the app.


# %% [markdown]
# ### Encrypted scores
#
# One CKKS ciphertext packs 4,096 values (ring degree 8,192), so a message's vector (its
# dimension is printed above) is cut into chunks of 4,096, one ciphertext each. A linear score
# needs one multiplication level, so the modulus chain is (60, 40, 60) bits: smaller
# ciphertexts and faster rotations than the lab's default two-level context. Two ways to
# compute the nine scores:
#
# - **one dot product per class**: multiply each chunk by the class's weights, add, sum the
#   4,096 slots by rotations (TenSEAL's vector API); nine ciphertexts come back;
# - **packed**: the diagonal method for a wide matrix (Halevi and Shoup's layout, as in
#   Gazelle): 16 pre-encoded plaintexts per chunk, 15 one-slot rotations and 8 strided ones;
#   one ciphertext comes back, every slot holding a full class score, so no partial sum of the
#   weights reaches the app.


# %%
nlp_ctx = securecomp.ckks_context(coeff_mod_bit_sizes=(60, 40, 60))
nlp_keys = securecomp.key_sizes(nlp_ctx)
nlp_n_he, nlp_n_loop = 24, 2  # messages the budget allows: packed, one dot product per class
nlp_pick = np.random.default_rng(seed).choice(len(nlp_data.X_test), nlp_n_he, replace=False)
nlp_texts = list(nlp_data.X_test[nlp_pick])
nlp_t = time.perf_counter()
nlp_plain = nlp_system.predict_proba(nlp_texts)  # the trusted server: vectoriser + model
nlp_plain_ms = (time.perf_counter() - nlp_t) * 1000 / nlp_n_he
nlp_X = securecomp.client_vectors(nlp_parts, nlp_texts)
nlp_packed = securecomp.encrypted_triage_scores(nlp_ctx, nlp_X, nlp_parts.W, nlp_parts.b,
                                            packed=True)
nlp_loop = securecomp.encrypted_triage_scores(nlp_ctx, nlp_X[:nlp_n_loop], nlp_parts.W,
                                          nlp_parts.b, packed=False)
nlp_rows = {}
for nlp_name, nlp_res, nlp_ref in (("one dot product per class", nlp_loop,
                                    nlp_plain[:nlp_n_loop]),
                                   ("packed", nlp_packed, nlp_plain)):
    nlp_p = softmax(nlp_res.scores, axis=1)  # on the client, after decrypting
    nlp_rows[nlp_name] = dict(
        messages=len(nlp_p), ms_per_message=nlp_res.ms_per_message,
        client_encrypt_ms=nlp_res.encrypt_ms_per_message,
        server_ms=nlp_res.compute_ms_per_message, client_decrypt_ms=nlp_res.decrypt_ms_per_message,
        ciphertexts_up=nlp_res.ciphertexts_up, ciphertexts_down=nlp_res.ciphertexts_down,
        KB_up=nlp_res.bytes_up_per_message / 1e3, KB_down=nlp_res.bytes_down_per_message / 1e3,
        max_abs_error=float(np.abs(nlp_p - nlp_ref).max()),
        agreement=float((nlp_p.argmax(1) == nlp_ref.argmax(1)).mean()))
nlp_he_table = pd.DataFrame(nlp_rows).T.rename_axis("method").reset_index()
display(plots.table(nlp_he_table, precision=3, caption=(
    f"Encrypted triage of {nlp_n_he} seeded test messages (packed) and the first "
    f"{nlp_n_loop} of them (one dot product per class); error and agreement of the decrypted "
    "softmax against the plaintext triage")))
print(f"server's one-time encoding of W for the packed method: {nlp_packed.setup_ms:.0f} ms; "
      f"keys sent once by each app: Galois {nlp_keys.galois_keys / 1e6:.1f} MB, relinearisation "
      f"{nlp_keys.relin_keys / 1e6:.2f} MB, public {nlp_keys.public_key / 1e6:.2f} MB")
print(f"plaintext triage on a trusted server: {nlp_plain_ms:.2f} ms a message")


# %% [markdown]
# **What the server sees.** A message's ciphertexts depend on the vocabulary's size, not on the
# message: the shortest and the longest of the sample below are sent as the same number of
# ciphertexts of the same size (SEAL compresses each ciphertext, so sizes differ slightly).


# %%
nlp_len = np.array([len(t) for t in nlp_texts])
nlp_sizes = {}
for nlp_which, nlp_i in (("shortest", int(nlp_len.argmin())), ("longest", int(nlp_len.argmax()))):
    nlp_cts = [securecomp.serialized_size(ts.ckks_vector(nlp_ctx, nlp_chunk.tolist()))
               for nlp_chunk in np.array_split(nlp_X[nlp_i], range(
                   nlp_keys.slots, nlp_parts.n_features, nlp_keys.slots))]
    nlp_sizes[nlp_which] = (int(nlp_len[nlp_i]), len(nlp_cts), sum(nlp_cts))
    print(f"{nlp_which} message ({nlp_len[nlp_i]} characters): {len(nlp_cts)} ciphertexts, "
          f"{sum(nlp_cts):,} bytes")
nlp_size_ratio = nlp_sizes["longest"][2] / nlp_sizes["shortest"][2]


# %% [markdown]
# The dimension drives the cost: `ceil(n_features / 4,096)` ciphertexts up per message, each of
# the same size, however few terms the message holds (a message of a few dozen characters has
# about a hundred non-zero entries; sending which ones are non-zero would tell the server the
# words). The figure prices the vocabulary: the word n-grams alone would need fewer ciphertexts.


# %%
nlp_ct_bytes = nlp_packed.bytes_up_per_message / nlp_packed.ciphertexts_up
nlp_dims = np.arange(1, 40_001, 250)
nlp_fig = go.Figure(go.Scatter(
    x=nlp_dims, y=np.ceil(nlp_dims / nlp_keys.slots) * nlp_ct_bytes / 1e6, mode="lines",
    line=dict(color=plots.COLORS["neutral"], shape="hv"), name="ciphertexts x size"))
for nlp_label, nlp_d, nlp_color in (("word n-grams only", nlp_n_words, "defended"),
                                    ("lab 00's triage", nlp_parts.n_features, "baseline")):
    nlp_fig.add_trace(go.Scatter(
        x=[nlp_d], y=[np.ceil(nlp_d / nlp_keys.slots) * nlp_ct_bytes / 1e6], mode="markers+text",
        marker=dict(size=11, color=plots.COLORS[nlp_color]), text=[nlp_label],
        textposition="top left", name=nlp_label))
nlp_fig.update_layout(title="Bytes an app sends per encrypted message, by TF-IDF dimension",
                      xaxis_title="TF-IDF dimension (features)", yaxis_title="MB up per message",
                      height=360, showlegend=False)
nlp_fig.show()


# %% [markdown]
# ### Secret sharing instead
#
# Three servers that do not collude (say the bank and two compute providers) each receive one
# additive share of the message's vector from the app and one share of the weights from the
# bank, compute the nine scores with Beaver triples from a dealer, and send their output shares
# to the app. `common.secret_shared_linear` scores one weight vector, so it runs once per class.


# %%
nlp_t = time.perf_counter()
nlp_smpc_scores, nlp_smpc_bytes, nlp_smpc_msgs = [], 0.0, 0
for nlp_c in range(len(nlp_parts.W)):
    nlp_sh = securecomp.secret_shared_linear(nlp_X, nlp_parts.W[nlp_c], float(nlp_parts.b[nlp_c]),
                                            secret_weights=True, seed=seed + nlp_c)
    nlp_smpc_scores.append(nlp_sh.scores)
    nlp_smpc_bytes += nlp_sh.bytes_per_row
    nlp_smpc_msgs += nlp_sh.messages
    if nlp_c == 0:  # keep the shapes of what party 0 saw, not the arrays (memory)
        nlp_view = {k: v.shape for k, v in nlp_sh.views[0].items()}
del nlp_sh
nlp_smpc_ms = (time.perf_counter() - nlp_t) * 1000 / nlp_n_he
nlp_smpc_p = softmax(np.column_stack(nlp_smpc_scores), axis=1)
nlp_smpc_err = float(np.abs(nlp_smpc_p - nlp_plain).max())
nlp_smpc_agree = float((nlp_smpc_p.argmax(1) == nlp_plain.argmax(1)).mean())
print(f"SMPC, 3 parties, secret weights: {nlp_smpc_ms:.1f} ms a message, "
      f"{nlp_smpc_bytes / 1e6:.1f} MB online a message ({nlp_smpc_msgs} messages for the batch), "
      f"max |p - p_plain| = {nlp_smpc_err:.1e}, labels agree on {nlp_smpc_agree:.0%}")
print("what party 0 saw (one class):", nlp_view)


# %%
nlp_p_err = max(r["max_abs_error"] for r in nlp_rows.values())
nlp_agree = min(r["agreement"] for r in nlp_rows.values())
claims.claim(f"nlp: encrypted (both methods) and secret-shared labels equal the plaintext "
             f"labels (share of {nlp_n_he} sampled test messages)",
             min(nlp_agree, nlp_smpc_agree), at_least=1.0)
claims.claim("nlp: max |p - p_plain|, encrypted and secret-shared, over the sampled test "
             "messages", max(nlp_p_err, nlp_smpc_err), at_most=1e-3)
claims.claim("nlp: packed server is faster than one dot product per class (ratio of server ms)",
             nlp_loop.compute_ms_per_message / nlp_packed.compute_ms_per_message, at_least=1.5)
claims.claim("nlp: bytes returned, one dot product per class / packed",
             nlp_loop.bytes_down_per_message / nlp_packed.bytes_down_per_message, at_least=5.0)
claims.claim("nlp: training messages recovered from the public idf (share exactly right, word "
             "n-grams)", nlp_df_exact.value * (nlp_leak.n_documents == len(nlp_data.X_train)),
             at_least=1.0)
claims.claim("nlp: ciphertext bytes, longest / shortest message", nlp_size_ratio, at_most=1.01)


# %%
nlp_note_he = (f"{nlp_packed.ciphertexts_up} ciphertexts of 4,096 slots per message "
               f"({nlp_parts.n_features:,} TF-IDF features)")
SUMMARY["nlp"] = {
    "model": "lab 00's triage (TF-IDF word + char n-grams, logistic regression, 9 classes); "
             "the app computes TF-IDF, the server the 9 linear scores",
    "rows": [
        {"technique": "plaintext (trusted server)", "applies": True,
         "ms_per_prediction": nlp_plain_ms,
         "bytes_per_prediction": float(np.mean([len(t.encode()) for t in nlp_texts])
                                       + 8 * len(nlp_parts.W)),
         "max_abs_error": 0.0, "agreement": 1.0, "trusted": "the triage server",
         "leaks": "the whole message to the server", "note": "message text up, 9 floats down"},
        {"technique": "HE, one ciphertext per query", "applies": True,
         "ms_per_prediction": nlp_loop.ms_per_message,
         "bytes_per_prediction": nlp_loop.bytes_per_message,
         "max_abs_error": nlp_rows["one dot product per class"]["max_abs_error"],
         "agreement": nlp_rows["one dot product per class"]["agreement"],
         "trusted": "the app (key holder)",
         "leaks": "query time, fixed ciphertext sizes; vocabulary and idf to every app",
         "note": f"{nlp_note_he}; one dot product per class, 9 ciphertexts back; "
                 f"{nlp_n_loop} messages"},
        {"technique": "HE, packed", "applies": True,
         "ms_per_prediction": nlp_packed.ms_per_message,
         "bytes_per_prediction": nlp_packed.bytes_per_message,
         "max_abs_error": nlp_rows["packed"]["max_abs_error"],
         "agreement": nlp_rows["packed"]["agreement"], "trusted": "the app (key holder)",
         "leaks": "query time, fixed ciphertext sizes; vocabulary and idf to every app",
         "note": f"{nlp_note_he}; the 9 scores in 1 ciphertext back (diagonal method); "
                 f"{nlp_n_he} messages; packing several apps' messages would need one key"},
        {"technique": "SMPC, 3 parties", "applies": True, "ms_per_prediction": nlp_smpc_ms,
         "bytes_per_prediction": nlp_smpc_bytes, "max_abs_error": nlp_smpc_err,
         "agreement": nlp_smpc_agree,
         "trusted": "3 non-colluding servers and the triple dealer",
         "leaks": "query time, vector length; the scores to the app",
         "note": "secret weights (Beaver); run once per class, so the vector is shared 9 "
                 "times: a 9-output protocol would send about a ninth of these bytes"},
    ],
}
print(f"NLP section: {time.perf_counter() - nlp_t0:.1f} s")


# %%
display(Markdown(
    f"**What changed and why.** In the clear, the triage server reads every message; under "
    f"CKKS it sees {nlp_packed.ciphertexts_up} ciphertexts per message "
    f"({nlp_packed.bytes_up_per_message / 1e6:.1f} MB), the same for a {nlp_sizes['shortest'][0]}"
    f"-character message as for a {nlp_sizes['longest'][0]}-character one, and the labels are "
    f"unchanged (agreement {nlp_agree:.0%}, probabilities within {nlp_p_err:.0e}). The price is "
    f"the vector's dimension: {nlp_parts.n_features:,} TF-IDF features make every message a "
    f"dense {nlp_packed.ciphertexts_up}-ciphertext upload, and "
    f"{nlp_packed.ms_per_message:.0f} ms against {nlp_plain_ms:.1f} ms in the clear. Packing "
    f"the nine scores into one returned ciphertext cut the server's time "
    f"{nlp_loop.compute_ms_per_message / nlp_packed.compute_ms_per_message:.1f}-fold and the "
    f"download {nlp_loop.bytes_down_per_message / nlp_packed.bytes_down_per_message:.0f}-fold "
    f"against one dot product per class. Secret sharing gives the same labels "
    f"({nlp_smpc_agree:.0%}) without keys but needs three servers that do not collude. What "
    f"encryption does not hide: the vectoriser every app receives holds the training set's "
    f"size ({nlp_leak.n_documents:,}) and every term's document count, and "
    f"{len(nlp_digit_terms)} n-grams with seven or more digits from customers' messages."))


# %% [markdown]
# ## 3 · Recommender: a top 10 from a factor the server never sees
#
# Lab 00's recommender scores item `i` for user `u` as `mu + b_u + b_i + P_u . Q_i`: a
# 32-number **user factor** `P_u` learned from the user's ratings, against 32-number item
# factors. The user factor is a compact portrait of a viewer's taste (lab 06 inverted such
# factors back to ratings). Here the viewer's **device** keeps its factor and bias secret and
# the server keeps the item factors: the server scores every item without seeing `P_u`, and
# the device takes its own top 10, leaving out what it already rated (which it knows).


# %%

rec_t0, rec_cpu0 = time.perf_counter(), time.process_time()
# lab 00's recommender from its seed-0 checkpoint for every seed: retraining it for another
# seed takes longer than this section's budget (systems.reference_system("recommender",
# seed=1) does it)
rec_mf = systems.reference_system("recommender", seed=0)
print(f"recommender: {rec_mf.source_}")
rec_parts = securecomp.mf_parts(rec_mf)
rec_n_items, rec_dim = rec_parts.Q.shape
rec_rng = np.random.default_rng(seed)
rec_users = rec_rng.choice(len(rec_parts.P), 60, replace=False)  # a seeded sample of viewers
rec_t = time.perf_counter()
rec_plain = securecomp.plain_user_scores(rec_parts, rec_users)
rec_plain_ms = (time.perf_counter() - rec_t) * 1000 / len(rec_users)
rec_top_check = np.array([np.array_equal(rec_mf.recommend(int(u)), t) for u, t in
                          zip(rec_users, securecomp.top_k_lists(rec_plain, rec_users, rec_parts),
                              strict=True)])
print(f"{len(rec_parts.P)} users, {rec_n_items:,} items, factors of {rec_dim}; plaintext scoring "
      f"{rec_plain_ms:.2f} ms per user; float64 top 10 equal to the system's own recommend() "
      f"for {rec_top_check.mean():.0%} of {len(rec_users)} sampled users")


# %% [markdown]
# ### Homomorphic encryption: the device holds the key
#
# **Threat model.** The device generates the CKKS keys and keeps the **secret key**. It sends
# its factor encrypted; the **honest-but-curious** server computes `Q @ P_u + b_i + mu` on the
# ciphertext with its plaintext item factors (a plaintext-matrix by encrypted-vector product)
# and returns the encrypted scores of all 9,066 items; the device decrypts, adds its `b_u` and
# takes its top 10. What leaks anyway: to the server, **which model** is queried, when and how
# often, and the ciphertexts' **sizes** and its own **timing**; to the device, **every item's
# score**, not only its top 10 (an extraction risk the lab's last section measures).
#
# Two layouts (CKKS ring degree 8192, 4,096 slots, one multiplicative level, scale 2^40):
# **packed**, where the device sends one ciphertext per factor dimension (the value repeated
# in every slot) and the server multiplies each by a column of item factors, so that each
# returned ciphertext packs 4,096 items' scores with no rotation; and **one ciphertext per
# query**, the factor in one ciphertext and TenSEAL's vector-matrix product `mm`, which rotates
# the ciphertext once per factor dimension for every chunk of 4,096 items.


# %%
rec_n_he, rec_n_mm = 6, 1
rec_ctx = securecomp.recommender_he_context(method="packed")
rec_he = securecomp.encrypted_user_scores(rec_ctx, rec_parts, rec_users[:rec_n_he], method="packed")
rec_ctx_mm = securecomp.recommender_he_context(method="one ciphertext")
rec_mm = securecomp.encrypted_user_scores(rec_ctx_mm, rec_parts, rec_users[:rec_n_mm],
                                      method="one ciphertext")
rec_he_on, rec_mm_on = f"{rec_n_he} sampled users", f"{rec_n_mm} sampled user"
rec_he_same = stats.proportion(rec_he.same_top_k, on=rec_he_on)
rec_mm_same = stats.proportion(rec_mm.same_top_k, on=rec_mm_on)


def rec_he_row(name, r, same, on):
    return {"layout": name, "users": on, "ms per user": r.ms_per_user,
            "of which server": r.compute_ms_per_user,
            "ciphertexts up / down": f"{r.ciphertexts_up_per_user} / "
                                     f"{r.ciphertexts_down_per_user}",
            "kB up": r.bytes_up_per_user / 1e3, "kB down": r.bytes_down_per_user / 1e3,
            "max |score error|": f"{r.max_abs_error:.1e}", "top 10 equal": str(same)}


display(plots.table(pd.DataFrame([
    rec_he_row("packed (one ciphertext per factor dimension)", rec_he, rec_he_same, rec_he_on),
    rec_he_row("one ciphertext per query (TenSEAL mm)", rec_mm, rec_mm_same, rec_mm_on)]),
    precision=1, caption=f"encrypted scoring of all {rec_n_items:,} items per user "
                         f"(plaintext: {rec_plain_ms:.2f} ms per user)"))
print(f"keys sent once: {rec_mm.key_bytes / 1e6:.1f} MB for one ciphertext per query (with "
      f"Galois keys), {rec_he.key_bytes / 1e6:.1f} MB packed (none needed)")
claims.claim(f"recommender: packed HE top 10 equal to plaintext for every user ({rec_he_on})",
             rec_he_same.value, at_least=1.0)
claims.claim("recommender: HE score error below 1e-4 (both layouts)",
             max(rec_he.max_abs_error, rec_mm.max_abs_error), at_most=1e-4)
claims.claim("recommender: packing sends over 10x the bytes of one ciphertext per query",
             rec_he.bytes_up_per_user / rec_mm.bytes_up_per_user, at_least=10)
claims.claim("recommender: HE costs over 100x the plaintext time per user",
             rec_he.ms_per_user / rec_plain_ms, at_least=100)


# %%
rec_top11 = securecomp.top_k_lists(rec_plain[:rec_n_he], rec_users[:rec_n_he], rec_parts, k=11)
rec_ranked = np.take_along_axis(rec_plain[:rec_n_he], rec_top11, axis=1)
rec_min_gap = float((rec_ranked[:, :10] - rec_ranked[:, 1:]).min())  # the best 11 unseen
display(Markdown(
    f"The trade is between the two directions of the link and the server's work: packing "
    f"sends {rec_he.ciphertexts_up_per_user} ciphertexts up "
    f"({rec_he.bytes_up_per_user / 1e6:.1f} MB) and saves the server every rotation; one "
    f"ciphertext per query sends {rec_mm.bytes_up_per_user / 1e3:.0f} kB but needs Galois "
    f"keys and rotations ({rec_mm.compute_ms_per_user:.0f} ms of server time against "
    f"{rec_he.compute_ms_per_user:.0f} ms). Both return {rec_he.ciphertexts_down_per_user} "
    f"ciphertexts of scores. The largest score error, {rec_he.max_abs_error:.1e}, is "
    f"{'far ' if rec_min_gap > 10 * rec_he.max_abs_error else ''}below the smallest gap "
    "between neighbouring scores among these users' best 11 unseen items "
    f"({rec_min_gap:.1e}), so every list is the same."))


# %% [markdown]
# **What the device learns.** It decrypts the score of every one of the 9,066 items, so each
# query hands a viewer a full row of the model's outputs for a factor it chose. A device that
# sends chosen factors (unit vectors, one per dimension) instead of its own would read the
# item factors back, column by column, in 33 queries; the lab's last section measures such
# extraction through the encrypted API. Encryption protects the viewer's factor, not the
# model.


# %% [markdown]
# ### Secret sharing among three servers
#
# **Threat model.** The device splits its factor and `mu + b_u` into three **additive
# shares** (Z_2^64, 20 fractional bits), one per server; the servers are honest-but-curious
# and **no two collude**. If the item factors are **public** to the servers, each computes
# `Q @ share` on its own (no message between them); if the model is **secret** too, the model
# owner shares `[Q, b_i]` as well and each product uses a dealer's Beaver triple, which opens
# one masked value per item factor and per factor dimension, every query. What leaks anyway:
# the output (all scores) to the device, shapes, timing, traffic.


# %%
rec_n_mpc = {False: len(rec_users), True: 12}  # a secret model costs more per user
rec_mpc = {secret: securecomp.shared_user_scores(rec_parts, rec_users[:n], secret_model=secret,
                                             seed=seed) for secret, n in rec_n_mpc.items()}
rec_mpc_same = {s: stats.proportion(r.same_top_k, on=f"{rec_n_mpc[s]} sampled users")
                for s, r in rec_mpc.items()}
display(plots.table(pd.DataFrame([{
    "item factors": "secret (Beaver triples)" if s else "public to the servers",
    "users": rec_n_mpc[s], "ms per user": r.ms_per_user, "messages per user": r.messages_per_user,
    "values opened per user": r.opened_values_per_user,
    "online MB per user": r.bytes_per_user / 1e6,
    "dealer MB per user": r.offline_bytes_per_user / 1e6,
    "max |score error|": f"{r.max_abs_error:.1e}", "top 10 equal": str(rec_mpc_same[s])}
    for s, r in rec_mpc.items()]), precision=2,
    caption=f"three-party secret-shared scoring of all {rec_n_items:,} items per user (in one "
            "process: no network latency)"))
claims.claim(f"recommender: SMPC top 10 equal to plaintext for every user, public model "
             f"({rec_mpc_same[False].n} users)", rec_mpc_same[False].value, at_least=1.0)
claims.claim(f"recommender: SMPC top 10 equal to plaintext for every user, secret model "
             f"({rec_mpc_same[True].n} users)", rec_mpc_same[True].value, at_least=1.0)
claims.claim("recommender: SMPC score error below 1e-4 (both settings)",
             max(r.max_abs_error for r in rec_mpc.values()), at_most=1e-4)
claims.claim("recommender: a secret model costs SMPC over 10x the online bytes of a public one",
             rec_mpc[True].bytes_per_user / rec_mpc[False].bytes_per_user, at_least=10)


# %%
rec_fig = go.Figure()
rec_techs = {"plaintext": (rec_dim * 8.0, rec_n_items * 4.0),
             "HE, packed": (rec_he.bytes_up_per_user, rec_he.bytes_down_per_user),
             "HE, one ciphertext": (rec_mm.bytes_up_per_user, rec_mm.bytes_down_per_user),
             "SMPC, public model": (rec_mpc[False].bytes_per_user, None),
             "SMPC, secret model": (rec_mpc[True].bytes_per_user
                                    + rec_mpc[True].offline_bytes_per_user, None)}
rec_fig.add_trace(go.Bar(x=list(rec_techs), y=[v[0] / 1e3 for v in rec_techs.values()],
                         name="device to server(s) (SMPC: all traffic)",
                         marker_color=plots.COLORS["attack"]))
rec_fig.add_trace(go.Bar(x=list(rec_techs),
                         y=[(v[1] or 0) / 1e3 for v in rec_techs.values()],
                         name="server to device", marker_color=plots.COLORS["defended"]))
rec_fig.update_layout(title="recommender: kB per user and query (log scale)", barmode="group",
                      yaxis=dict(type="log", title="kB"), height=380)
rec_fig.show()


# %% [markdown]
# ### What changed and why


# %%
display(Markdown(
    "Scoring is a matrix-vector product, linear in the viewer's factor, so both techniques "
    "compute it exactly up to their precision: every sampled viewer gets the plaintext top "
    f"10. The price is time (HE packed: {rec_he.ms_per_user:.0f} ms a user, one ciphertext: "
    f"{rec_mm.ms_per_user:.0f} ms, against {rec_plain_ms:.2f} ms in plaintext) and bytes "
    f"({rec_he.bytes_up_per_user / 1e6:.1f} MB up packed; {rec_mm.key_bytes / 1e6:.0f} MB "
    "of keys and rotations with one ciphertext; for SMPC with a secret model "
    f"{(rec_mpc[True].bytes_per_user + rec_mpc[True].offline_bytes_per_user) / 1e6:.0f} MB "
    "a user of openings and triples, against "
    f"{rec_mpc[False].bytes_per_user / 1e3:.0f} kB with public item factors, which only "
    "needs the servers not to collude). What neither changes: the server still knows which "
    "model is queried and how often, and the device receives every item's score, enough to "
    "copy the model."))


# %%
SUMMARY["recommender"] = {
    "model": "lab 00's reference matrix factorisation (seed-0 checkpoint), scores of all items",
    "rows": [
        {"technique": "plaintext (trusted server)", "applies": True,
         "ms_per_prediction": rec_plain_ms,
         "bytes_per_prediction": rec_dim * 8.0 + rec_n_items * 4.0,
         "max_abs_error": 0.0, "agreement": 1.0,
         "trusted": "the server sees the user's factor",
         "leaks": "the user's factor and scores to the server", "note": ""},
        {"technique": "HE, one ciphertext per query", "applies": True,
         "ms_per_prediction": rec_mm.ms_per_user,
         "bytes_per_prediction": rec_mm.bytes_up_per_user + rec_mm.bytes_down_per_user,
         "max_abs_error": rec_mm.max_abs_error, "agreement": rec_mm_same.value,
         "trusted": "the device keeps its secret key",
         "leaks": "which model, when, sizes, timing; every item's score to the device",
         "note": f"TenSEAL mm (rotations) on {rec_n_mm} user; "
                 f"{rec_mm.key_bytes / 1e6:.1f} MB of keys once"},
        {"technique": "HE, packed", "applies": True,
         "ms_per_prediction": rec_he.ms_per_user,
         "bytes_per_prediction": rec_he.bytes_up_per_user + rec_he.bytes_down_per_user,
         "max_abs_error": rec_he.max_abs_error, "agreement": rec_he_same.value,
         "trusted": "the device keeps its secret key",
         "leaks": "which model, when, sizes, timing; every item's score to the device",
         "note": f"one ciphertext per factor dimension, no rotation; {rec_n_he} users"},
        {"technique": "SMPC, 3 parties", "applies": True,
         "ms_per_prediction": rec_mpc[True].ms_per_user,
         "bytes_per_prediction": rec_mpc[True].bytes_per_user
         + rec_mpc[True].offline_bytes_per_user,
         "max_abs_error": rec_mpc[True].max_abs_error, "agreement": rec_mpc_same[True].value,
         "trusted": "no two parties collude; the dealer colludes with none",
         "leaks": "shapes, timing, traffic; every item's score to the device",
         "note": "secret item factors via Beaver triples (public item factors: "
                 f"{rec_mpc[False].ms_per_user:.1f} ms, "
                 f"{rec_mpc[False].bytes_per_user / 1e3:.0f} kB, no interaction)"},
    ],
}
print(f"recommender section: {time.perf_counter() - rec_t0:.1f} s of cell time "
      f"({time.process_time() - rec_cpu0:.1f} s of CPU)")


# %% [markdown]
# ## 4 · Fraud: scoring transactions the scoring service never sees
#
# A bank sends each card transaction to a fraud-scoring service and blocks or reviews it on
# the score. The transaction (amount, merchant category, the customer's recent history) is the
# bank's customers' data; the model is the service's. Here the service scores ciphertexts.
#
# **Threat model.** Trusted: the bank, which holds the secret key (it encrypts the features
# and decrypts the score). Honest but curious: the scoring service, which runs the protocol as
# written and looks at everything it receives. What leaks anyway: how many transactions the
# bank scores and when; the ciphertexts' count and size (fixed by the number of features); and,
# to the bank, the exact scores, which are the model's outputs (measured at the end of the
# section).


# %% [markdown]
# ### Does HE apply to lab 00's fraud scorer?
#
# Lab 00's scorer is gradient-boosted trees. A tree compares a feature with a threshold at each
# node and returns the leaf the comparisons lead to. CKKS computes additions and
# multiplications of encrypted numbers, nothing else: a comparison has no exact encrypted
# version.


# %%


frd_t0 = time.perf_counter()
frd_data = load_dataset("fraud", seed=0)
frd_ref = systems.reference_system("fraud", seed=seed)
print("reference scorer:", frd_ref.source_)
frd_trees = securecomp.he_applicability(frd_ref)
print(f"HE applies to the reference: {frd_trees.applies}; {frd_trees.reason}")


# %% [markdown]
# So the service cannot evaluate the trees on ciphertexts as they are. The HE-friendly variant
# is a **logistic regression** trained here on the same training transactions. Its logit is a
# weighted sum of the features, which the service computes on ciphertexts; the bank applies
# the sigmoid after decrypting. The bank first takes the logarithm of the heavy-tailed
# features (amounts, counts, seconds since the last transaction). It does so in the clear,
# before encrypting, so the logarithm costs nothing under encryption; the service folds the
# standardisation into its weights.
#
# What does the switch cost? The reference raises a number of alerts on the test
# transactions; the variant gets the same number (its highest scores), and we compare how many
# frauds each catches.


# %%
frd_var = securecomp.fit_he_friendly_scorer(frd_data.X_train, frd_data.y_train, seed=seed)
print("variant:", securecomp.he_applicability(frd_var).reason)
frd_p_ref = frd_ref.predict_proba(frd_data.X_test)[:, 1]
frd_p_var = frd_var.predict_proba(frd_data.X_test)[:, 1]
frd_cost = securecomp.detection_cost(frd_data.y_test, frd_p_ref, frd_p_var, seed=seed,
                                   n_resamples=200)
frd_quality = pd.DataFrame({
    "model": ["reference (boosted trees)", "variant (logistic regression)"],
    "recall at the alert rate": [f"{frd_cost.recall_reference}", f"{frd_cost.recall_variant}"],
    "ROC AUC": [f"{frd_cost.auc_reference:.3f}", f"{frd_cost.auc_variant:.3f}"],
    "PR-AUC": [frd_cost.average_precision_reference, frd_cost.average_precision_variant]})
display(plots.table(frd_quality, caption=(
    f"Test transactions ({len(frd_data.y_test):,}, {int(frd_data.y_test.sum())} frauds): "
    f"{frd_cost.n_alerts} alerts each ({frd_cost.alert_rate:.2%} of transactions)")))


# %%
frd_fig = go.Figure()
for frd_name, frd_p, frd_role, frd_hit in (
        ("reference (boosted trees)", frd_p_ref, "baseline", frd_cost.recall_reference),
        ("variant (logistic regression)", frd_p_var, "defended", frd_cost.recall_variant)):
    frd_prec, frd_rec, _ = precision_recall_curve(frd_data.y_test, frd_p)
    frd_fig.add_trace(go.Scatter(x=frd_rec, y=frd_prec, name=frd_name, mode="lines",
                                 line=dict(color=plots.COLORS[frd_role], width=2.5)))
    frd_fig.add_trace(go.Scatter(
        x=[frd_hit.value], y=[frd_hit.successes / frd_cost.n_alerts], mode="markers",
        marker=dict(size=11, color=plots.COLORS[frd_role]), showlegend=False,
        error_x=dict(type="data", symmetric=False, array=[frd_hit.high - frd_hit.value],
                     arrayminus=[frd_hit.value - frd_hit.low]),
        hovertemplate=f"{frd_name} at {frd_cost.n_alerts} alerts<extra></extra>"))
frd_fig.update_layout(title="Precision and recall on the test transactions (dots: at the "
                            "reference's alert rate, 95% interval)", xaxis_title="recall",
                      yaxis_title="precision", height=380)
frd_fig.show()


# %% [markdown]
# ### Encrypted scores: one ciphertext per transaction, and packed
#
# One ciphertext per transaction suits a bank that scores each payment as it arrives: the
# service multiplies the slots by the weights and sums them with rotations. Packed suits a
# nightly batch: one ciphertext per feature column holds 4,096 transactions, and the service
# multiplies each column by its weight and adds them, with no rotation. The context is the
# lab's default one (ring degree 8,192). The acceptance bar: every decrypted probability within
# 1e-3 of the plaintext variant's, and the same decision at the variant's alert threshold.


# %%
frd_head = securecomp.linear_head(frd_var)
frd_Xc = fraud_sim.log_heavy_tails(frd_data.X_test)  # the bank, in the clear
frd_ctx = securecomp.ckks_context()
frd_t = time.perf_counter()
frd_var.predict_proba(frd_data.X_test)
frd_plain_ms = (time.perf_counter() - frd_t) * 1000 / len(frd_Xc)
frd_gen = np.random.default_rng(seed)
frd_pick = np.sort(np.r_[
    frd_gen.choice(np.flatnonzero(frd_data.y_test == 1), 8, replace=False),
    frd_gen.choice(np.flatnonzero(frd_data.y_test == 0), 24, replace=False)])
frd_row = securecomp.encrypted_linear_scores(frd_ctx, frd_Xc[frd_pick], frd_head.w, frd_head.b,
                                            packed=False)
frd_packed = securecomp.encrypted_linear_scores(frd_ctx, frd_Xc, frd_head.w, frd_head.b,
                                               packed=True)
frd_thr = frd_cost.threshold_variant
frd_rows = {}
for frd_name, frd_res, frd_ref_p in (("one ciphertext per transaction", frd_row,
                                      frd_p_var[frd_pick]),
                                     ("packed", frd_packed, frd_p_var)):
    frd_p = securecomp.sigmoid(frd_res.scores)  # the bank, after decrypting
    frd_rows[frd_name] = dict(
        transactions=len(frd_p), ms_per_transaction=frd_res.ms_per_row,
        server_ms=frd_res.compute_ms_per_row, KB_per_transaction=frd_res.bytes_per_row / 1e3,
        ciphertexts_up=frd_res.n_ciphertexts, max_abs_error=float(np.abs(frd_p - frd_ref_p).max()),
        decisions_equal=float(((frd_p > frd_thr) == (frd_ref_p > frd_thr)).mean()))
frd_he_table = pd.DataFrame(frd_rows).T.rename_axis("method").reset_index()
display(plots.table(frd_he_table, precision=4, caption=(
    f"Encrypted scoring of the variant: {len(frd_pick)} seeded test transactions (8 frauds) one "
    f"by one, all {len(frd_Xc):,} packed; the plaintext variant takes {frd_plain_ms:.4f} ms a "
    "transaction")))


# %% [markdown]
# ### Secret sharing: a consortium of banks
#
# Three banks score each other's transactions without a scoring service: the bank that owns a
# transaction splits its features into three additive shares, one per bank, the model's owner
# shares the weights the same way, and the banks compute the score with Beaver triples from a
# dealer. By construction each bank's share of a value, and each opened (Beaver-masked)
# difference, is uniform on the ring whatever the value; the owner alone reconstructs the
# score. Trusted: the dealer, and that no two banks pool their shares.


# %%
frd_t = time.perf_counter()
frd_smpc = securecomp.secret_shared_linear(frd_Xc, frd_head.w, frd_head.b, secret_weights=True,
                                          seed=seed)
frd_smpc_p = securecomp.sigmoid(frd_smpc.scores)
frd_smpc_err = float(np.abs(frd_smpc_p - frd_p_var).max())
frd_smpc_agree = float(((frd_smpc_p > frd_thr) == (frd_p_var > frd_thr)).mean())
print(f"SMPC, 3 banks, secret weights, {len(frd_Xc):,} transactions: "
      f"{frd_smpc.ms_per_row * 1000:.1f} µs a transaction, {frd_smpc.bytes_per_row:,.0f} bytes "
      f"online a transaction (+{frd_smpc.offline_bytes_per_row:,.0f} from the dealer), "
      f"max |p - p_plain| = {frd_smpc_err:.1e}, decisions equal on {frd_smpc_agree:.2%}")
print("what bank 1 saw:", {k: v.shape for k, v in frd_smpc.views[1].items()})


# %% [markdown]
# ### What the key holder learns anyway
#
# Encryption protects the transaction from the service, not the model from the bank. The bank
# decrypts the exact logit of any vector it chooses to encrypt, and a probe looks to the
# service like any transaction (same number and size of ciphertexts). A linear model has
# `n_features + 1` unknowns: the zero vector gives the bias, each unit vector one weight.


# %%
frd_steal = securecomp.recover_linear_model(
    lambda Q: securecomp.encrypted_linear_scores(frd_ctx, Q, frd_head.w, frd_head.b,
                                                packed=True).scores, len(frd_head.w))
frd_steal_err = float(max(np.abs(frd_steal.w - frd_head.w).max(), abs(frd_steal.b - frd_head.b)))
frd_steal_p = securecomp.sigmoid(frd_Xc @ frd_steal.w + frd_steal.b)
frd_steal_agree = float(((frd_steal_p > frd_thr) == (frd_p_var > frd_thr)).mean())
print(f"{frd_steal.n_queries} encrypted queries recover every weight to {frd_steal_err:.1e}; "
      f"the stolen copy takes the service's decision on {frd_steal_agree:.2%} of the "
      f"{len(frd_Xc):,} test transactions")


# %%
frd_he_err = max(r["max_abs_error"] for r in frd_rows.values())
frd_he_agree = min(r["decisions_equal"] for r in frd_rows.values())
claims.claim("fraud: threshold comparisons in lab 00's boosted trees (HE cannot evaluate them)",
             frd_trees.n_comparisons, at_least=200)
claims.claim(f"fraud: recall at the reference's alert rate, variant minus reference "
             f"({frd_cost.recall_variant.n} test frauds)",
             frd_cost.recall_variant.value - frd_cost.recall_reference.value, at_least=-0.12)
claims.claim("fraud: ROC AUC lost by the HE-friendly variant (test transactions)",
             frd_cost.auc_reference.value - frd_cost.auc_variant.value, at_most=0.08)
claims.claim("fraud: max |p_encrypted - p_plain| over every scored test transaction",
             frd_he_err, at_most=1e-3)
claims.claim("fraud: encrypted and secret-shared decisions equal the plaintext ones (share)",
             min(frd_he_agree, frd_smpc_agree), at_least=1.0)
claims.claim("fraud: secret-shared max |p - p_plain| (all test transactions)", frd_smpc_err,
             at_most=1e-3)
claims.claim("fraud: packed is faster than one ciphertext per transaction (ratio of ms)",
             frd_row.ms_per_row / frd_packed.ms_per_row, at_least=10)
claims.claim("fraud: weights recovered by the key holder from n_features + 1 queries (max "
             "error)", frd_steal_err, at_most=1e-3)


# %%
frd_leaks = "how many transactions and when; fixed ciphertext sizes; exact logits to the bank"
SUMMARY["fraud"] = {
    "model": "HE-friendly logistic regression on log-scaled features, trained live on lab 00's "
             "fraud data (lab 00's boosted trees need comparisons, which HE cannot evaluate); "
             "the plaintext row is this variant too",
    "rows": [
        {"technique": "plaintext (trusted server)", "applies": True,
         "ms_per_prediction": frd_plain_ms, "bytes_per_prediction": 8.0 * (frd_Xc.shape[1] + 1),
         "max_abs_error": 0.0, "agreement": 1.0, "trusted": "the scoring service",
         "leaks": "every transaction to the service", "note": "23 features up, 1 float down"},
        {"technique": "HE on lab 00's boosted trees", "applies": False,
         "ms_per_prediction": None, "bytes_per_prediction": None, "max_abs_error": None,
         "agreement": None, "trusted": "-", "leaks": "-", "note": frd_trees.reason},
        {"technique": "HE, one ciphertext per query", "applies": True,
         "ms_per_prediction": frd_row.ms_per_row, "bytes_per_prediction": frd_row.bytes_per_row,
         "max_abs_error": frd_rows["one ciphertext per transaction"]["max_abs_error"],
         "agreement": frd_rows["one ciphertext per transaction"]["decisions_equal"],
         "trusted": "the bank (key holder)", "leaks": frd_leaks,
         "note": f"{len(frd_pick)} test transactions; decisions at the variant's alert threshold"},
        {"technique": "HE, packed", "applies": True, "ms_per_prediction": frd_packed.ms_per_row,
         "bytes_per_prediction": frd_packed.bytes_per_row,
         "max_abs_error": frd_rows["packed"]["max_abs_error"],
         "agreement": frd_rows["packed"]["decisions_equal"], "trusted": "the bank (key holder)",
         "leaks": frd_leaks,
         "note": f"all {len(frd_Xc):,} test transactions, {frd_packed.n_ciphertexts} ciphertexts"},
        {"technique": "SMPC, 3 parties", "applies": True,
         "ms_per_prediction": frd_smpc.ms_per_row, "bytes_per_prediction": frd_smpc.bytes_per_row,
         "max_abs_error": frd_smpc_err, "agreement": frd_smpc_agree,
         "trusted": "3 non-colluding banks and the triple dealer",
         "leaks": "how many transactions; the score to the owning bank",
         "note": "secret weights (Beaver), a bank consortium; trees would need secure "
                 "comparisons, not written here"},
    ],
}
print(f"fraud section: {time.perf_counter() - frd_t0:.1f} s")


# %%
display(Markdown(
    f"**What changed and why.** Lab 00's boosted trees cannot be scored under CKKS: "
    f"{frd_trees.n_comparisons:,} threshold comparisons and no encrypted comparison. A logistic "
    f"regression on the bank's log-scaled features can, and at the reference's alert rate "
    f"({frd_cost.n_alerts} alerts) it catches {frd_cost.recall_variant.successes} frauds "
    f"against the trees' {frd_cost.recall_reference.successes} of "
    f"{int(frd_data.y_test.sum())}; over all thresholds it ranks worse (ROC AUC "
    f"{frd_cost.auc_variant.value:.3f} against {frd_cost.auc_reference.value:.3f}, PR-AUC "
    f"{frd_cost.average_precision_variant:.3f} against "
    f"{frd_cost.average_precision_reference:.3f}): that is what keeping to HE's additions and "
    f"multiplications costs. The encryption itself costs time and bytes, not accuracy: decrypted "
    f"probabilities within {frd_he_err:.0e} of the plaintext ones, the same decisions on "
    f"{frd_he_agree:.0%} of transactions, at {frd_row.ms_per_row:.0f} ms and "
    f"{frd_row.bytes_per_row / 1e3:.0f} KB per transaction one by one, or "
    f"{frd_packed.ms_per_row:.2f} ms and {frd_packed.bytes_per_row / 1e3:.1f} KB packed. A "
    f"bank consortium sharing the computation gets the same decisions "
    f"({frd_smpc_agree:.0%}) without keys, if no two banks collude. Neither protects the "
    f"model from the key holder: {frd_steal.n_queries} queries rebuild it."))


# %% [markdown]
# ## 5 · Medical: a diagnosis on records the server never reads
#
# Lab 00's diagnosis aid reads 30 measurements of a breast-tissue sample (WDBC) and returns the
# probability that it is malignant. It is a standardised logistic regression, so its logit is
# one linear score: folding the scaler into the weights (`w = coef / scale`,
# `b = intercept - sum(coef * mean / scale)`) gives a model server that holds one weight
# vector and a bias, and a hospital that sends raw measurements. That is the simplest model
# to compute on without seeing the input, which is why this section is the lab's reference
# case: every technique below must return the plaintext model's probability on **every** test
# patient, within 1e-3.


# %%


med_t0, med_cpu0 = time.perf_counter(), time.process_time()
med_data = load_dataset("medical", seed=0)
med_system = systems.reference_system("medical", seed=seed)
print(f"diagnosis model: {med_system.source_}")
med_model = securecomp.folded_linear_model(med_system)
med_X, med_y = med_data.X_test, med_data.y_test
med_on = f"{len(med_y)} test patients"
med_t = time.perf_counter()
med_proba = med_system.predict_proba(med_X)[:, 1]
med_plain_ms = (time.perf_counter() - med_t) * 1000 / len(med_y)
med_logit = med_X @ med_model.w + med_model.b
med_fold_err = np.abs(securecomp.sigmoid(med_logit) - med_proba).max()
med_plain_acc = stats.proportion((med_proba > 0.5) == med_y.astype(bool), on=med_on)
print(f"folded linear score vs the pipeline's probability: max |difference| {med_fold_err:.1e}")
print(f"plaintext accuracy {med_plain_acc}")


# %% [markdown]
# ### Homomorphic encryption: who holds what
#
# **Threat model.** The hospital is the data owner: it generates a CKKS key pair (TenSEAL) and
# keeps the **secret key**. It sends the model server the public evaluation keys and its
# patients' measurements, encrypted. The server is **honest-but-curious**: it runs the agreed
# computation (encrypted score `X @ w + b` with its own plaintext weights) and would read
# anything it could. It cannot decrypt; only the hospital sees the result. What leaks anyway:
# the **output** to the key holder (and with it, query by query, the model: extraction is the
# lab's last section), the **sizes** of the ciphertexts, the server's **timing**, the **number
# of queries**, and which model is used. The server's weights are not hidden from a curious
# hospital: HE protects the input.
#
# Two layouts: **one ciphertext per patient** (a slot-wise product and a rotate-and-sum, which
# needs the large Galois keys), or **packed**, one ciphertext per measurement holding up to
# 4,096 patients (a multiply-by-weight and add per measurement, no rotation).


# %%
med_ctx = securecomp.ckks_context()  # 8192 slots/2, primes (60, 40, 40, 60), scale 2^40
med_keys = securecomp.key_sizes(med_ctx)
med_he = {packed: securecomp.encrypted_linear_scores(med_ctx, med_X, med_model.w, med_model.b,
                                                    packed=packed)
          for packed in (False, True)}
med_he_err = {p: float(np.abs(securecomp.sigmoid(r.scores) - med_proba).max())
              for p, r in med_he.items()}
med_he_agree = {p: stats.proportion((r.scores > 0) == (med_proba > 0.5), on=med_on)
                for p, r in med_he.items()}
display(plots.table(pd.DataFrame({
    "key or ciphertext": ["public key", "relinearisation keys", "Galois (rotation) keys",
                          "secret key (stays at the hospital)", "one ciphertext"],
    "MB": [v / 1e6 for v in (med_keys.public_key, med_keys.relin_keys, med_keys.galois_keys,
                             med_keys.secret_key, med_keys.ciphertext)]}),
    caption=f"CKKS, ring degree 8192 ({med_keys.slots} slots per ciphertext)"))
display(plots.table(pd.DataFrame([{
    "layout": "packed" if p else "one ciphertext per patient",
    "ms per patient": r.ms_per_row, "of which server": r.compute_ms_per_row,
    "kB per patient": r.bytes_per_row / 1e3, "ciphertexts sent": r.n_ciphertexts,
    "max |p - p_plain|": med_he_err[p], "decisions equal": med_he_agree[p].value}
    for p, r in med_he.items()]), precision=4,
    caption=f"encrypted inference on {med_on} (decrypt the score, sigmoid at the hospital)"))
med_speedup = med_he[False].ms_per_row / med_he[True].ms_per_row
print(f"packed is {med_speedup:.1f}x faster per patient; both agree with plaintext on "
      f"{med_he_agree[True]} (packed) and {med_he_agree[False]} (one per patient)")
claims.claim("HE: max |probability error| on every test patient, both layouts (<= 1e-3)",
             max(med_he_err.values()), at_most=1e-3)
claims.claim("HE: packing is faster per patient (ratio of ms per patient)", med_speedup,
             at_least=5.0)


# %% [markdown]
# What the server could watch, measured on the one-ciphertext-per-patient run: does its
# compute time or the size of a patient's ciphertext follow the patient's logit? (SEAL
# compresses ciphertexts, so sizes vary by a few bytes.) And how many ciphertexts arrive: per
# patient in one layout, 30 per batch of up to 4,096 in the other.


# %%
med_rows = med_he[False]
med_rho_time = spearmanr(med_rows.row_compute_ms, med_logit).statistic
med_rho_size = spearmanr(med_rows.row_bytes_up, med_logit).statistic
print(f"Spearman correlation with the logit: server time {med_rho_time:+.3f}, ciphertext "
      f"size {med_rho_size:+.3f} (n = {len(med_logit)}; two standard errors of rho when "
      f"nothing leaks: {2 / np.sqrt(len(med_logit)):.2f}; times on a busy machine are noisy)")
print(f"ciphertext sizes {med_rows.row_bytes_up.min():,.0f}-{med_rows.row_bytes_up.max():,.0f}"
      f" bytes; ciphertexts the server counts: {med_rows.n_ciphertexts} (one per patient) vs "
      f"{med_he[True].n_ciphertexts} packed (the same for 1 or {med_keys.slots} patients)")


# %% [markdown]
# ### An encrypted probability: the sigmoid as a polynomial, and its range
#
# The hospital could also receive the **probability** encrypted, with no sigmoid on its side.
# CKKS only adds and multiplies, so the server evaluates a polynomial instead of the sigmoid.
# The textbook choice, `0.5 + 0.197 z - 0.004 z^3` (TenSEAL's tutorial), is good on about
# [-5, 5]; beyond |z| = 7 it turns back and flips the decision. The diagnosis model's logits
# are much wider than that. Three variants, all evaluated under encryption (a deeper context:
# three levels of 33 bits, still ring degree 8192): the textbook polynomial on **raw logits**;
# the same on logits **scaled** so the largest training logit lands at 5 (the division folds
# into the weights, no extra level); and a **least-squares** cubic fitted over the training
# logits' range. The ranges come from the training set, which the model owner knows.


# %%
med_deep = securecomp.ckks_context(coeff_mod_bit_sizes=(52, 33, 33, 33, 52),
                                  global_scale_bits=33, galois=False)  # 3 levels, 203 bits
med_train_logit = med_data.X_train @ med_model.w + med_model.b
med_poly = securecomp.polynomial_sigmoid_study(med_deep, med_X, med_y, med_model.w,
                                               med_model.b, fit_logits=med_train_logit)
display(plots.table(pd.DataFrame([{
    "variant": r.name, "logit / s, s =": r.logit_scale,
    "accuracy": f"{r.accuracy:.3f}", "decisions equal to plaintext": f"{r.agreement:.3f}",
    "|logit / s| > 5": r.outside_range.value if r.name.startswith("textbook") else np.nan,
    "max |p - sigmoid|": r.max_abs_error, "CKKS error of p": r.he_error,
    "ms per patient": r.ms_per_row} for r in med_poly]),
    caption=f"a degree-3 polynomial sigmoid evaluated under encryption, {med_on} "
            f"(plaintext accuracy {med_plain_acc:.3f})"))
med_raw, med_scaled, med_lsq = med_poly
med_fixed_acc = min(med_scaled.accuracy.value, med_lsq.accuracy.value)
claims.claim("textbook polynomial on raw logits: accuracy drops (test patients)",
             med_raw.accuracy.value, at_most=0.70)
claims.claim("scaling or a least-squares fit restores accuracy (the lower of the two)",
             med_fixed_acc, at_least=0.92)


# %% [markdown]
# The figure shows why: the test patients' logits (histogram) reach far beyond the range where
# the textbook cubic follows the sigmoid; past the dotted lines its output falls on the wrong
# side of 0.5. The fixes restore the **decisions**, not calibrated probabilities: a cubic over
# such a wide range is a poor sigmoid (column "max |p - sigmoid|"; the encryption itself adds
# little, column "CKKS error of p"). Where a probability is needed, the hospital decrypts the
# score and applies the exact sigmoid itself.


# %%
med_zmax = float(np.abs(med_train_logit).max())
med_grid = np.linspace(-med_zmax, med_zmax, 400)
med_fig = go.Figure()
med_fig.add_trace(go.Histogram(x=med_logit, name="test patients' logits", yaxis="y2",
                               marker_color=plots.COLORS["neutral"], opacity=0.45, nbinsx=40))
med_fig.add_trace(go.Scatter(x=med_grid, y=securecomp.sigmoid(med_grid), name="sigmoid",
                             line=dict(color=plots.COLORS["baseline"], width=3)))
for med_r, med_colour in ((med_raw, plots.COLORS["attack"]), (med_scaled, plots.COLORS["accent"]),
                          (med_lsq, plots.COLORS["defended"])):
    med_fig.add_trace(go.Scatter(
        x=med_grid, y=securecomp.sigmoid_poly(med_r.coeffs)(med_grid / med_r.logit_scale),
        name=med_r.name, line=dict(color=med_colour, dash="dash")))
med_flip = float(np.sqrt(-securecomp.TEXTBOOK_SIGMOID_COEFFS[1]
                         / securecomp.TEXTBOOK_SIGMOID_COEFFS[3]))
for med_x in (-med_flip, med_flip):
    med_fig.add_vline(x=med_x, line_dash="dot", line_color=plots.COLORS["attack"])
med_fig.update_layout(
    title="The textbook cubic breaks beyond |logit| = 7; the logits go much further",
    xaxis_title="logit", yaxis=dict(title="output", range=[-0.5, 1.5]),
    yaxis2=dict(title="patients", overlaying="y", side="right", showgrid=False),
    height=380, legend=dict(x=0.01, y=0.99))
med_fig.show()


# %% [markdown]
# ### Exercise 2 · How wrong is a polynomial sigmoid?
#
# Write `poly_sigmoid_error(coeffs, lo, hi)`: the largest absolute error of a polynomial
# approximation of the sigmoid `1 / (1 + exp(-x))` over `[lo, hi]`. Evaluate both on
# `np.linspace(lo, hi, 1001)` and return the maximum of `|poly(x) - sigmoid(x)|` as one number.
# `coeffs` are in **increasing** degree (`c0 + c1 x + c2 x^2 + ...`, the order TenSEAL's
# `polyval` takes). `lo >= hi` is bad input: raise `ValueError`.


# %%
def poly_sigmoid_error(coeffs, lo, hi):
    ### BEGIN SOLUTION
    if not lo < hi:
        raise ValueError("lo must be below hi")
    x = np.linspace(lo, hi, 1001)
    poly = np.polynomial.polynomial.polyval(x, np.asarray(coeffs, dtype=float))
    return float(np.max(np.abs(poly - 1.0 / (1.0 + np.exp(-x)))))
    ### END SOLUTION


# %%
### POINTS: 1
poly_sigmoid_error = check(lab10.POLY_SIGMOID_ERROR, poly_sigmoid_error)
### BEGIN HIDDEN TESTS
grade(lab10.POLY_SIGMOID_ERROR, poly_sigmoid_error)
### END HIDDEN TESTS


# %%
# Your function on the polynomials above: the textbook cubic where it was designed to work,
# and over the logits this model really produces; the least-squares cubic over its own range.
med_lo, med_hi = float(med_train_logit.min()), float(med_train_logit.max())
print(f"textbook cubic on [-5, 5]: max error "
      f"{poly_sigmoid_error(securecomp.TEXTBOOK_SIGMOID_COEFFS, -5.0, 5.0):.3f}")
print(f"textbook cubic on the training logits [{med_lo:.1f}, {med_hi:.1f}]: max error "
      f"{poly_sigmoid_error(securecomp.TEXTBOOK_SIGMOID_COEFFS, med_lo, med_hi):,.1f}")
print(f"least-squares cubic on the same range: max error "
      f"{poly_sigmoid_error(med_lsq.coeffs, med_lo, med_hi):.3f}")


# %% [markdown]
# ### Secret sharing among three hospitals
#
# **Threat model.** Three hospitals run the computation as parties. The data owner splits each
# patient's measurements into three **additive shares** in the ring Z_2^64 (fixed point, 20
# fractional bits): three numbers that look uniformly random and sum to the record. Each party
# is honest-but-curious; additive 3-of-3 sharing hides the input from any **two** colluding
# parties, never from all three. With **public weights** each party multiplies its share by
# the weights alone, no message between parties. With **secret weights** the model owner
# shares the weights too, and a multiplication of two shared values needs a **Beaver triple**
# `(A, B, C = A @ B)` from a dealer who sees no input and colludes with nobody: the parties
# open `E = X - A` and `F = w - B`, which are masked by uniform `A` and `B`. What leaks anyway:
# the output (to the data owner), the number of patients and features (the shares' shapes),
# timing and traffic, and, in the public variant, the weights. The protocol is written small by
# hand (`securecomp.common`): CrypTen no longer installs against the course's pins, and MPyC
# runs each party as a process over TCP with Shamir shares, so neither shows additive shares and
# Beaver triples in a notebook's budget.


# %%
med_mpc = {secret: securecomp.secret_shared_linear(med_X, med_model.w, med_model.b,
                                                  secret_weights=secret, seed=seed)
           for secret in (False, True)}
med_mpc_err = {s: float(np.abs(securecomp.sigmoid(r.scores) - med_proba).max())
               for s, r in med_mpc.items()}
med_mpc_agree = {s: stats.proportion((r.scores > 0) == (med_proba > 0.5), on=med_on)
                 for s, r in med_mpc.items()}
display(plots.table(pd.DataFrame([{
    "weights": "secret (Beaver triple)" if s else "public", "ms per patient": r.ms_per_row,
    "messages": r.messages, "online kB per patient": r.bytes_per_row / 1e3,
    "dealer kB per patient": r.offline_bytes_per_row / 1e3,
    "values opened": r.opened_values, "max |p - p_plain|": med_mpc_err[s],
    "decisions equal": med_mpc_agree[s].value} for s, r in med_mpc.items()]), precision=5,
    caption=f"three-party additive sharing on {med_on} (parties simulated in one process)"))
print("time is computation only: the parties share one process, so the network round trips "
      "(none with public weights, one round of openings with secret weights, plus sending "
      "inputs and outputs) are not in it")
claims.claim("SMPC: max |probability error| on every test patient, both variants (<= 1e-3)",
             max(med_mpc_err.values()), at_most=1e-3)


# %% [markdown]
# **What each party sees**, in the secret-weights run: for every array in a party's view, how
# far it correlates with the secret it hides (a uniform ring element read as a number in
# [0, 1); |correlation| near 0 is the goal) and how many values it holds. The output share is
# compared with the patient's logit.


# %%
med_secret_run = med_mpc[True]
med_truth = {"X share": med_X, "w share": med_model.w, "opened E = X - A": med_X,
             "opened F = w - B": med_model.w, "output share": med_logit}


def med_corr(view, truth):
    v = np.asarray(view, dtype=np.float64).ravel() / 2.0 ** 64
    t = np.broadcast_to(truth, np.shape(view)).ravel()
    return float(np.corrcoef(v, t)[0, 1])


med_view_rows = []
for med_i, med_view in enumerate(med_secret_run.views):
    for med_name, med_arr in med_view.items():
        med_view_rows.append({"party": med_i + 1, "what it sees": med_name,
                              "values": med_arr.size,
                              "corr. with the secret": med_corr(med_arr, med_truth[med_name])})
med_views = pd.DataFrame(med_view_rows)
med_view_table = med_views.pivot(index="what it sees", columns="party",
                                 values="corr. with the secret").add_prefix("party ")
med_view_n = med_views.groupby("what it sees")["values"].first()
med_view_table["values"] = med_view_n
med_view_table["chance level 2/sqrt(values)"] = 2 / np.sqrt(med_view_n)
display(plots.table(med_view_table, precision=3,
                    caption="correlation of each party's view with what it hides (secret weights)"))
med_view_excess = float((med_views["corr. with the secret"].abs()
                         / (2 / np.sqrt(med_views["values"]))).max())
print(f"largest |correlation| relative to its chance level: {med_view_excess:.2f} (below 1: "
      "within chance); only the data owner sums the three output shares into the scores.")


# %% [markdown]
# ### Exercise 3 · One Beaver multiplication
#
# Multiplying two shared values is where the parties need help. Write
# `beaver_shares(x_shares, y_shares, a_shares, b_shares, c_shares)` (all `uint64` arrays of
# shape (n_parties, d), element-wise). The parties hold shares of `x`, `y` and of a dealer's
# triple `a`, `b`, `c = a * b`. They **open** `e = x - a` and `f = y - b` (each party
# broadcasts its share of `x - a` and of `y - b`; the sums modulo 2^64 are `e` and `f`). Then
# party `i` computes `z_i = c_i + e * b_i + f * a_i`, and party 0 alone also adds `e * f`.
# Return the (n_parties, d) `uint64` shares `z`; they add up to `x * y` modulo 2^64.


# %%
def beaver_shares(x_shares, y_shares, a_shares, b_shares, c_shares):
    ### BEGIN SOLUTION
    X, Y, A, B, C = (np.asarray(v, dtype=np.uint64) for v in
                     (x_shares, y_shares, a_shares, b_shares, c_shares))
    e = (X - A).sum(axis=0, dtype=np.uint64)  # opened: masked by the dealer's a
    f = (Y - B).sum(axis=0, dtype=np.uint64)
    z = C + e * B + f * A
    z[0] += e * f  # a public term: one party only
    return z
    ### END SOLUTION


# %%
### POINTS: 2
beaver_shares = check(lab10.BEAVER, beaver_shares)
### BEGIN HIDDEN TESTS
grade(lab10.BEAVER, beaver_shares)
### END HIDDEN TESTS


# %%
# Your multiplication on the hospital's data: each test patient's first measurement times the
# model's first (secret) weight, shared among three parties. Products of two fixed-point
# values carry 2 x 20 fractional bits.
med_ex_x = securecomp.share(med_X[:, 0], 3, seed=seed)
med_ex_y = securecomp.share(np.full(len(med_X), med_model.w[0]), 3, seed=seed + 1)
med_ex_abc = securecomp.beaver_triple((len(med_X),), (len(med_X),), 3, seed=seed + 2)
med_ex_z = beaver_shares(med_ex_x, med_ex_y, *med_ex_abc)
med_ex_err = float(np.abs(securecomp.reconstruct(med_ex_z, frac_bits=2 * securecomp.FRAC_BITS)
                          - med_X[:, 0] * med_model.w[0]).max())
print(f"your Beaver products for {len(med_X)} patients: largest error {med_ex_err:.1e}")


# %% [markdown]
# ### A curious coalition, measured
#
# An adversary who knows the protocol controls one party, then two. It pools what its parties
# hold (the sum of their shares, modulo 2^64) and tries two things on all 569 WDBC patients:
# correlate the pooled values with the true measurements, and train a classifier on them to
# predict the diagnosis (5-fold cross-validation). A coalition that learns nothing does no
# better than always guessing the majority diagnosis. A second test asks whether one party's
# share has a different distribution when the secret changes from 0 to the largest measurement
# in the data (Kolmogorov-Smirnov, 20,000 sharings each).


# %%
med_all_X = np.vstack([med_data.X_train, med_data.X_test])
med_all_y = np.concatenate([med_data.y_train, med_data.y_test])
med_coal = securecomp.coalition_views(med_all_X, med_all_y, seed=seed)
med_ks = securecomp.share_distribution_test(0.0, float(med_all_X.max()), seed=seed)
display(plots.table(pd.DataFrame([{
    "parties pooling": c.parties, "mean |corr| with the records": c.mean_abs_corr,
    "max |corr|": c.max_abs_corr, "values recovered exactly": c.exact_share,
    "diagnosis accuracy": f"{c.diagnosis_accuracy:.3f}", "always the majority": c.majority_rate}
    for c in med_coal]), caption="what 1, 2 and 3 colluding parties learn"))
print("KS p-values (no claim: a p-value is uniform when nothing leaks), share under secret 0 "
      "vs under "
      f"{med_ks.secret_b:g}, per party: "
      + ", ".join(f"{p:.3f}" for p in med_ks.p_same_distribution)
      + "; against the uniform: " + ", ".join(f"{p:.3f}" for p in med_ks.p_uniform))
med_two, med_three = med_coal[1], med_coal[2]
med_blind_gain = max(c.diagnosis_accuracy.value - c.majority_rate for c in med_coal[:2])
claims.claim("1 or 2 colluding parties: diagnosis accuracy above always-the-majority (<= 0.05)",
             med_blind_gain, at_most=0.05)
claims.claim("1 or 2 colluding parties: mean |corr| with the records (<= 0.1)",
             max(c.mean_abs_corr for c in med_coal[:2]), at_most=0.1)
claims.claim("all 3 parties together: diagnosis accuracy (cross-validated)",
             med_three.diagnosis_accuracy.value, at_least=0.9)


# %%
med_lsq_agree = med_lsq.agreement.value
display(Markdown(
    f"**What changed and why.** Encrypted and secret-shared inference return the plaintext "
    f"model's probability on all {len(med_y)} test patients: the largest error is "
    f"{max(med_he_err.values()):.1e} under CKKS and {max(med_mpc_err.values()):.1e} with three "
    f"parties, because the logit is one linear score and the sigmoid is applied by the party "
    f"that receives it. The price is time and bytes, not accuracy: packing the patients into "
    f"one ciphertext per measurement brings CKKS from {med_he[False].ms_per_row:.1f} to "
    f"{med_he[True].ms_per_row:.1f} ms per patient, and the keys cost "
    f"{med_keys.galois_keys / 1e6:.0f} MB of Galois keys for the per-patient layout alone. "
    f"Sending the sigmoid into the encryption changes the picture: the textbook cubic on raw "
    f"logits gets {med_raw.accuracy.value:.2f} of diagnoses right, because "
    f"{med_raw.outside_range.value:.0%} of the logits lie outside its range; scaling the "
    f"logits ({med_scaled.accuracy.value:.2f}) or fitting the cubic over the training logits "
    f"({med_lsq.accuracy.value:.2f}, {med_lsq_agree:.0%} of decisions as in plaintext) "
    f"restores the decisions but not the probabilities. Secret sharing trusts something "
    f"else: not a key holder but that the three parties do not all collude (and that the "
    f"dealer colludes with none). One or two "
    f"colluding parties predict the diagnosis from their shares no better than always "
    f"guessing the majority (gain {med_blind_gain:+.3f}); all three read every record "
    f"({med_three.exact_share:.0%} recovered exactly). None of this hides the output: the "
    f"hospital that holds the key can still query the model as often as it likes."))


# %%
SUMMARY["medical"] = {
    "model": "lab 00's reference diagnosis model (scaled logistic regression on WDBC), scaler "
             "folded into the weights",
    "rows": [
        {"technique": "plaintext (trusted server)", "applies": True,
         "ms_per_prediction": med_plain_ms, "bytes_per_prediction": 8.0 * (med_X.shape[1] + 1),
         "max_abs_error": 0.0, "agreement": 1.0,
         "trusted": "the model server sees every record",
         "leaks": "the records and the output to the server", "note": ""},
        {"technique": "HE, one ciphertext per query", "applies": True,
         "ms_per_prediction": med_he[False].ms_per_row,
         "bytes_per_prediction": med_he[False].bytes_per_row,
         "max_abs_error": med_he_err[False], "agreement": med_he_agree[False].value,
         "trusted": "the hospital keeps its secret key",
         "leaks": "number of queries, sizes, timing; output to the key holder", "note": ""},
        {"technique": "HE, packed", "applies": True,
         "ms_per_prediction": med_he[True].ms_per_row,
         "bytes_per_prediction": med_he[True].bytes_per_row,
         "max_abs_error": med_he_err[True], "agreement": med_he_agree[True].value,
         "trusted": "the hospital keeps its secret key",
         "leaks": "batch count (not size up to 4096), timing; output to the key holder",
         "note": ""},
        {"technique": "HE, encrypted polynomial sigmoid (least squares)", "applies": True,
         "ms_per_prediction": med_lsq.ms_per_row, "bytes_per_prediction": med_lsq.bytes_per_row,
         "max_abs_error": med_lsq.max_abs_error, "agreement": med_lsq.agreement.value,
         "trusted": "the hospital keeps its secret key",
         "leaks": "as packed HE; the probability is only a cubic's",
         "note": "decisions kept, probabilities not calibrated"},
        {"technique": "SMPC, 3 parties", "applies": True,
         "ms_per_prediction": med_mpc[True].ms_per_row,
         "bytes_per_prediction": med_mpc[True].bytes_per_row
         + med_mpc[True].offline_bytes_per_row,
         "max_abs_error": med_mpc_err[True], "agreement": med_mpc_agree[True].value,
         "trusted": "not all 3 parties collude; the dealer colludes with none",
         "leaks": "shapes, timing, traffic; output to the data owner",
         "note": "secret weights via Beaver triples (public weights: "
                 f"{med_mpc[False].ms_per_row:.3f} ms, no interaction)"},
    ],
}
print(f"medical section: {time.perf_counter() - med_t0:.1f} s of cell time "
      f"({time.process_time() - med_cpu0:.1f} s of CPU)")


# %% [markdown]
# ## 6 · Models at rest: encrypted files, keys kept apart
#
# A trained model is an asset (lab 04 showed what it costs to steal one through its API) and
# sometimes a liability (lab 05 and 06: it remembers its training data). Its file sits on a
# disk, in backups, in a bucket. This section encrypts the file of **each of the five
# reference systems**.
#
# **Threat model.** *The attacker* gets a copy of the stored files (a stolen disk or laptop, a
# leaked backup, a misconfigured bucket) and may also **modify** them: swap in a model of its
# own, flip bits, roll a file back to an older version. *Trusted*: the key service, and the
# serving host that decrypts the model to use it. *What leaks anyway*: each file's size, its
# name and version (stored in clear, authenticated but not secret), and when it changes.
# *Not protected*: the model in memory while it serves, the server that holds the keys,
# and the answers the model gives (section 7).
#
# **The recipe: envelope encryption with an authenticated cipher** (`cryptography`'s
# AES-256-GCM). Each file gets its own random 256-bit **data key** and a fresh random 96-bit
# nonce. The file stores the data key only **wrapped**, that is encrypted under a
# **key-encryption key** (KEK) that lives elsewhere, here `securecomp.KeyStore`, a stand-in
# for a key-management service: a folder of its own, apart from the models' folder. The
# model's name, version and format are **associated data**: sent in clear but
# authenticated, and bound both to the ciphertext and to the wrapped key. GCM's tag makes
# every modification fail loudly. Torch weights are stored as safetensors (tensors only);
# the scikit-learn models as their pickle. A pickle runs code when it is loaded:
# encryption proves the file is the one we sealed, not that it is safe to unpickle (lab 11).
#
# Everything is written inside a temporary folder that this section creates and removes.


# %%


rest_t0 = time.perf_counter()
rest_tmp = tempfile.TemporaryDirectory(prefix="lab10_at_rest_")  # removed at the section's end
rest_root = Path(rest_tmp.name)
rest_models_dir = rest_root / "models"       # what a thief copies: disk, backup, bucket
rest_models_dir.mkdir()
rest_store = securecomp.KeyStore(rest_root / "keys")   # kept apart: a KMS in production
rest_kek = rest_store.create_key()
rest_other = securecomp.KeyStore(rest_root / "someone_else")  # another key, same id: wrong key
rest_other.create_key()

# the five systems the sections above scored (lab 00's reference systems)
rest_systems = {"image": img_cnn, "nlp": nlp_system, "recommender": rec_mf, "fraud": frd_ref,
                "medical": med_system}
rest_inputs = {}
for rest_domain in catalogue.DOMAINS:
    rest_data = load_dataset(rest_domain, seed=0)
    # what each system answers is compared before and after: 200 test inputs (the
    # recommender: the scores of every item for 200 users)
    rest_inputs[rest_domain] = (np.arange(200) if rest_domain == "recommender"
                                else rest_data.X_test[:200])
    print(f"{rest_domain}: {rest_systems[rest_domain].source_}")
rest_t_systems = time.perf_counter() - rest_t0


# %% [markdown]
# Each system is serialised, sealed, written to the models folder, read back, opened,
# restored and asked the same 200 questions (the restored torch models start from zeroed
# weights, so everything they know comes from the file). Then, for each file, four copies
# with **one bit flipped** in the ciphertext, the nonce, the associated data and the wrapped
# data key, and one attempt with **the wrong key** (another store's key of the same id):
# each must raise the package's own `TamperedModelError`, never yield a silently wrong model.


# %%
rest_t1 = time.perf_counter()
rest_cpu1 = time.process_time()
rest_results = {
    d: securecomp.measure_at_rest(rest_systems[d], rest_inputs[d], rest_store, name=d,
                                 version=1, directory=rest_models_dir, wrong_store=rest_other,
                                 repeats=3, seed=seed)
    for d in catalogue.DOMAINS
}
rest_frame = pd.DataFrame([{
    "system": r.system, "format": r.format, "file bytes": r.file_bytes,
    "encrypted bytes": r.encrypted_bytes, "overhead bytes": r.encrypted_bytes - r.file_bytes,
    "encrypt ms": r.encrypt_ms, "decrypt ms": r.decrypt_ms,
    "same predictions": r.same_predictions,
    "tamper checks failed loudly": f"{sum(c.detected for c in r.tamper)}/{len(r.tamper)}",
    "names readable (plain / sealed)": "{} / {}".format(*r.plaintext_visible),
} for r in rest_results.values()])
display(plots.table(rest_frame, precision=2, caption="The five models sealed with AES-256-GCM "
                    "(envelope encryption; median of 3 runs; same predictions: on 200 test "
                    "inputs, or 200 users' item scores)"))
rest_image = rest_results["image"]
for rest_check in rest_image.tamper:
    print(f"{rest_check.what:>16}: {rest_check.error}")
rest_n_checks = sum(len(r.tamper) for r in rest_results.values())
rest_n_detected = sum(c.detected for r in rest_results.values() for c in r.tamper)
rest_overhead = int(rest_frame["overhead bytes"].max())
rest_largest = rest_frame.loc[rest_frame["file bytes"].idxmax()]
print(f"{rest_n_detected} of {rest_n_checks} tamper and wrong-key attempts raised "
      f"TamperedModelError; overhead at most {rest_overhead} bytes a file; the largest file "
      f"({rest_largest['system']}, {rest_largest['file bytes'] / 1e6:.1f} MB) seals in "
      f"{rest_largest['encrypt ms']:.1f} ms and opens in {rest_largest['decrypt ms']:.1f} ms")
claims.claim("at rest: every bit flip and wrong key fails loudly (share of the 25 attempts)",
             rest_n_detected / rest_n_checks, at_least=1.0)
claims.claim("at rest: every decrypted model answers exactly as before (share of 5 systems)",
             np.mean([r.same_predictions for r in rest_results.values()]), at_least=1.0)
claims.claim("at rest: sealing adds at most 200 bytes a file (largest overhead)", rest_overhead,
             at_most=200)
claims.claim("at rest: the largest model seals in well under a second (ms)",
             rest_largest["encrypt ms"], at_most=250)


# %% [markdown]
# The last column is what a thief with the models folder reads: the plain safetensors files
# name every tensor (the architecture) and the pickles name their library, while the sealed
# files show nothing but their size, name and version. The errors say which stage refused
# the file. A flipped bit in the associated data fails already when the data key is
# unwrapped, because the identity is bound to the wrapped key as well as to the ciphertext.


# %% [markdown]
# ### Exercise 4 · Open a sealed model, or refuse
#
# The heart of the recipe above is one call that must never hand back a wrong model. Write
# `open_sealed(key, blob, associated_data)` for a blob sealed with AES-256-GCM (the
# `cryptography` package's `AESGCM`): the blob is the 12-byte nonce followed by the
# ciphertext with its 16-byte tag, and `associated_data` (bytes: the model's name and version)
# was bound to it when sealing. Return the plaintext bytes. Any failure to authenticate (a
# flipped bit anywhere, the wrong key, the wrong associated data) must raise
# `lab10.TamperedError` (a `ValueError`), never return a result; a blob shorter than a nonce
# and a tag raises it too.


# %%
def open_sealed(key, blob, associated_data):
    ### BEGIN SOLUTION
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    blob = bytes(blob)
    if len(blob) < 12 + 16:
        raise lab10.TamperedError("the blob is shorter than a nonce and a tag")
    try:
        return AESGCM(bytes(key)).decrypt(blob[:12], blob[12:], associated_data)
    except InvalidTag:
        raise lab10.TamperedError("the model failed authentication: tampered, or the wrong "
                                  "key or associated data") from None
    ### END SOLUTION


# %%
### POINTS: 1
open_sealed = check(lab10.OPEN_SEALED, open_sealed)
### BEGIN HIDDEN TESTS
grade(lab10.OPEN_SEALED, open_sealed)
### END HIDDEN TESTS


# %%
# Your function on the diagnosis model's file, sealed here with one key and nonce; then with
# one bit of the ciphertext flipped.

rest_ex_key, rest_ex_nonce = AESGCM.generate_key(bit_length=256), np.random.default_rng(
    seed).bytes(12)
rest_ex_file = securecomp.model_bytes(rest_systems["medical"]).data
rest_ex_blob = rest_ex_nonce + AESGCM(rest_ex_key).encrypt(rest_ex_nonce, rest_ex_file,
                                                           b"medical:v1")
print(f"opened: {open_sealed(rest_ex_key, rest_ex_blob, b'medical:v1') == rest_ex_file}")
rest_ex_bad = bytearray(rest_ex_blob)
rest_ex_bad[100] ^= 1
try:
    open_sealed(rest_ex_key, bytes(rest_ex_bad), b"medical:v1")
    print("a flipped bit went unnoticed")
except lab10.TamperedError as err:
    print(f"a flipped bit: TamperedError: {err}")


# %% [markdown]
# ### The attacker who knows the scheme
#
# An attacker with write access to the bucket, and without a key, has three more moves:
#
# 1. **swap** a file for another authentic one (the fraud model in place of the medical one);
# 2. **roll back** to an older authentic version (v1 when v2 is deployed);
# 3. **flip bits where it knows the layout**, hoping for a model that is subtly wrong rather
#    than unreadable. This is the attack that a cipher *without* authentication lets
#    through: AES in counter mode (CTR) flips exactly the plaintext bit the attacker flips
#    in the ciphertext, and safetensors' layout is public.
#
# Swaps and rollbacks are caught only because the loader says which model and version it
# expects, and the file's authenticated identity must match.


# %%
rest_medical_v2 = securecomp.seal_model(securecomp.model_bytes(rest_systems["medical"]).data,
                                       rest_store, name="medical", version=2, fmt="pickle")
rest_moves = {}
for rest_move, (rest_blob, rest_version) in {
    "swap: the fraud file opened as 'medical' v1": (rest_results["fraud"].sealed, 1),
    "rollback: v1 opened where v2 is expected": (rest_results["medical"].sealed, 2),
}.items():
    try:
        securecomp.open_model(rest_blob, rest_store, name="medical", version=rest_version)
        rest_moves[rest_move] = "opened"
    except securecomp.TamperedModelError as rest_err:
        rest_moves[rest_move] = f"TamperedModelError: {rest_err}"
assert securecomp.open_model(rest_medical_v2, rest_store, name="medical", version=2)
for rest_move, rest_outcome in rest_moves.items():
    print(f"{rest_move}\n    -> {rest_outcome}")

rest_flip = securecomp.unauthenticated_flip(rest_systems["image"], rest_inputs["image"],
                                           rest_store, seed=seed)
print(f"\nAES-CTR, one bit flipped in the ciphertext of {rest_flip.tensor}[{rest_flip.element}]:"
      f" {rest_flip.value_before:.3g} -> {rest_flip.value_after:.3g}; error raised: "
      f"{rest_flip.error or 'none'}; predicted digit changed on {rest_flip.changed}; "
      f"labels now given: {rest_flip.labels_after.tolist()}")
print(f"AES-GCM, the same bit -> {rest_flip.gcm_error}")
claims.claim("at rest: swapped and rolled-back files are refused (share of 2 moves)",
             np.mean([o.startswith("TamperedModelError") for o in rest_moves.values()]),
             at_least=1.0)
claims.claim("at rest: without authentication (AES-CTR) one flipped bit silently changes the "
             "digit model's answers (share of 200 digits, lower bound; 0 if anything raised)",
             0.0 if rest_flip.error else rest_flip.changed.low, at_least=0.02)


# %% [markdown]
# The CTR model loaded without a word and answers differently. The flipped bit multiplies
# one class's bias by 2^128: depending on its sign, which the attacker cannot see, the model
# now reads every digit as that class or never as it. The attacker never saw the key. GCM
# refuses the same file: confidentiality without integrity is not enough for a model.


# %% [markdown]
# ### Key rotation
#
# A KEK is rotated on a schedule, or at once when it may have leaked. With envelope
# encryption, rotation **re-wraps** each file's 32-byte data key under the new KEK and leaves
# the ciphertext as it is: the cryptographic work does not grow with the model (the file is
# only copied). Then the old KEK is
# destroyed. Re-wrapping does not help if a *data key* may have leaked (or someone kept an old
# file together with the old KEK): that calls for **full re-encryption** under a new data
# key, timed here for comparison.


# %%
rest_sealed = {d: r.sealed for d, r in rest_results.items()}
# a thief has kept a copy of the old key file (an old backup of the key service)
rest_thief = securecomp.KeyStore(rest_root / "thief")
rest_old_key_file = (rest_store.directory / f"{rest_kek}.key").read_bytes()
(rest_thief.directory / f"{rest_kek}.key").write_bytes(rest_old_key_file)

rest_rotation = securecomp.rotate_key(rest_sealed, rest_store, repeats=3)
rest_store.retire(rest_rotation.old_key)        # the old KEK is destroyed
rest_outcomes = {"re-wrapped file opens with the new key": 0,
                 "pre-rotation file refused (old key destroyed)": 0,
                 "thief's old key refused": 0, "thief's old key renamed to the new id fails": 0}
for rest_domain, rest_blob in rest_rotation.rewrapped.items():
    rest_plain = securecomp.model_bytes(rest_systems[rest_domain]).data
    rest_outcomes["re-wrapped file opens with the new key"] += (
        securecomp.open_model(rest_blob, rest_store, name=rest_domain) == rest_plain)
    for rest_key, (rest_file, rest_keys) in (
        ("pre-rotation file refused (old key destroyed)", (rest_sealed[rest_domain], rest_store)),
        ("thief's old key refused", (rest_blob, rest_thief)),
    ):
        try:
            securecomp.open_model(rest_file, rest_keys, name=rest_domain)
        except securecomp.UnknownKeyError:
            rest_outcomes[rest_key] += 1
# the thief renames its old key file to the new key's id: now the key is found, and wrong
(rest_thief.directory / f"{rest_kek}.key").rename(
    rest_thief.directory / f"{rest_rotation.new_key}.key")
for rest_domain, rest_blob in rest_rotation.rewrapped.items():
    try:
        securecomp.open_model(rest_blob, rest_thief, name=rest_domain)
    except securecomp.TamperedModelError:
        rest_outcomes["thief's old key renamed to the new id fails"] += 1

rest_rotation_frame = pd.DataFrame({
    "system": list(rest_rotation.rewrap_ms),
    "re-wrap ms": list(rest_rotation.rewrap_ms.values()),
    "full re-encryption ms": list(rest_rotation.reencrypt_ms.values()),
    "ciphertext unchanged by re-wrap": list(rest_rotation.ciphertext_unchanged.values()),
})
display(plots.table(rest_rotation_frame, precision=2, caption=f"Key rotation "
                    f"{rest_rotation.old_key} -> {rest_rotation.new_key} (median of 3 runs)"))
print("; ".join(f"{k}: {v}/5" for k, v in rest_outcomes.items()))
claims.claim("at rest: re-wrapping leaves every ciphertext untouched (share of 5 files)",
             np.mean(list(rest_rotation.ciphertext_unchanged.values())), at_least=1.0)
claims.claim("at rest: after rotation the old key opens nothing, renamed or not "
             "(share of 10 attempts)",
             (rest_outcomes["thief's old key refused"]
              + rest_outcomes["thief's old key renamed to the new id fails"]) / 10, at_least=1.0)


# %%
rest_t_section = time.perf_counter() - rest_t1
rest_tmp.cleanup()  # the models, the keys and the thief's copy are gone
print(f"section 6: systems built in {rest_t_systems:.1f} s (shared with the domain sections), "
      f"sealing, checks and rotation in {rest_t_section:.1f} s wall "
      f"({time.process_time() - rest_cpu1:.1f} s CPU); temporary folder removed: "
      f"{not rest_root.exists()}")
SUMMARY["at rest"] = {"rows": [
    {"system": r.system, "file_bytes": r.file_bytes, "encrypted_bytes": r.encrypted_bytes,
     "encrypt_ms": r.encrypt_ms, "decrypt_ms": r.decrypt_ms,
     "tamper_detected": r.tamper_detected, "same_predictions": r.same_predictions}
    for r in rest_results.values()]}


# %% [markdown]
# **What changed and why.** Stolen files are now ciphertext: without the key service a thief
# learns each model's size, name and version, nothing of its weights. Authentication turned
# every modification we tried into an error that names the file and the failing stage:
# bit flips, the wrong key, a swapped file, a rolled-back version. The control shows what
# encryption alone (CTR) would have let through. Rotation re-wrapped 32-byte data keys
# without touching a model; after it the old key opened nothing.
#
# What it did not change: the serving host decrypts the model into memory, so anyone who
# controls that host, or the key service, has the model. And the model still answers
# queries, which is where labs 04 and 05 attacked it. Section 7 measures that.


# %% [markdown]
# ## 7 · What encryption does not stop
#
# Encryption hides the model file (section 6) and the queries (sections 1 to 5), but an
# encrypted model **still answers**. Whoever may query it and read the answers gets exactly
# what a plaintext API gives, so the attacks of labs 04 and 05 should work unchanged. This
# section measures that on the medical logistic model, served under CKKS as in section 5.
#
# **Threat model.** *The attacker* is a client of the encrypted API: it holds the CKKS secret
# key (the key holder is the party that decrypts the answers), chooses its queries, encrypts
# them, and decrypts the scores. *The server* is honest and sees only ciphertexts; it never
# learns the queries. *What leaks anyway*: the answers themselves. The only difference from
# plaintext is CKKS's numerical error, about 1e-6 on a probability.


# %%

leak_t0 = time.perf_counter()
leak_cpu0 = time.process_time()
leak_victim = med_system  # section 5's diagnosis aid, lab 00's reference system
leak_w, leak_b = extraction.victim_parameters(leak_victim)   # the server's plaintext weights
leak_context = securecomp.ckks_context(galois=False)          # the client's keys (packed: no
leak_api = securecomp.EncryptedLinearAPI(leak_context, leak_w, leak_b)  # rotations needed)
leak_medical = load_dataset("medical", seed=0)
leak_patients = np.vstack([leak_medical.X_train, leak_medical.X_test]).astype(np.float64)
leak_split = repro.rng(seed).permutation(len(leak_patients))
leak_X_thief, leak_X_eval = leak_patients[leak_split[:200]], leak_patients[leak_split[200:]]
leak_gap = np.abs(leak_api(leak_X_eval) - leak_victim.predict_proba(leak_X_eval)).max()
print(f"{leak_victim.source_}\nencrypted API vs plaintext API on {len(leak_X_eval)} patients: "
      f"largest difference of a probability {leak_gap:.1e}")
claims.claim("not stopped: the encrypted API answers the plaintext probabilities "
             "(largest difference)", leak_gap, at_most=1e-3)


# %% [markdown]
# ### (a) Model extraction through the encrypted API (lab 04)
#
# Lab 04's equation-solving theft: the thief holds 200 unlabelled patients and sends the
# `d + 1 = 31` queries of `extraction.equation_solving_attack` (its mean patient, then one
# step along each feature), once to the plaintext API and once through CKKS. We compare the
# copy's labels with the victim's on the other 369 patients, and its parameters with the
# victim's.


# %%
leak_on = f"{len(leak_X_eval)} patients the thief never saw"
leak_theft = {
    "plaintext API": securecomp.steal_through(leak_victim.predict_proba, leak_victim, leak_X_thief,
                                            leak_X_eval, api_name="plaintext", on=leak_on),
    "encrypted API (CKKS)": securecomp.steal_through(leak_api, leak_victim, leak_X_thief,
                                                   leak_X_eval, api_name="CKKS", on=leak_on),
}
display(plots.table(pd.DataFrame([{
    "API": name, "queries": r.queries, "agreement with the victim": str(r.fidelity),
    "parameter error": f"{r.parameter_error:.1e}", "seconds": r.seconds,
} for name, r in leak_theft.items()]), precision=2, caption="Lab 04's equation-solving theft "
    "through each API (agreement: 95% Wilson interval)"))
leak_plain_theft, leak_he_theft = leak_theft.values()
claims.claim("not stopped: the theft through CKKS copies the model (agreement, lower bound)",
             leak_he_theft.fidelity.low, at_least=0.98)
claims.claim("not stopped: encryption changes the copy's agreement by (absolute difference)",
             abs(leak_he_theft.fidelity.value - leak_plain_theft.fidelity.value), at_most=0.01)
claims.claim("not stopped: the stolen weights through CKKS are exact up to its noise "
             "(relative error)", leak_he_theft.parameter_error, at_most=1e-4)
claims.claim("not stopped: the same number of queries either way (difference)",
             abs(leak_he_theft.queries - leak_plain_theft.queries), at_most=0)


# %% [markdown]
# The copy agrees with the victim on every patient either way, from the same 31 queries.
# CKKS's noise appears only in the sixth decimal of the stolen weights. Encryption cost the
# thief time (the seconds column), nothing else.


# %% [markdown]
# ### (b) Membership inference through the encrypted API (lab 05)
#
# Lab 05's patient experiment, the one where it measured the logistic model's small leak:
# 500 patients, **32 models** (the course's logistic regression), each trained on a random
# half. Each model is the target in turn and answers the attacker's 500 candidate patients.
# The attacker encrypts them once; each model's server computes its scores on the same
# ciphertexts. The other 31 models are the attacker's own shadow models, computed in the
# clear. **Online LiRA** turns each answer into a membership score. The AUC is averaged over
# the 32 targets, with a bootstrap interval over targets (they share patients, so targets,
# not pairs, are the independent units).


# %%
leak_population = privacy.medical_population(seed=seed)
leak_keep = privacy.random_halves(len(leak_population.X), 32, seed=seed)
leak_models = securecomp.half_models(leak_population.X, leak_population.y, leak_keep)
leak_batch = securecomp.encrypted_scores_many(leak_context, leak_population.X,
                                            leak_models.weights, leak_models.biases)
leak_queries = leak_keep.size   # one answer per (target, candidate)
leak_member = {
    "plaintext API": securecomp.membership_auc(
        securecomp.lira_through(leak_models.logits, leak_models.logits, leak_keep,
                              leak_population.y),
        leak_keep, api_name="plaintext", queries=leak_queries, seed=seed),
    "encrypted API (CKKS)": securecomp.membership_auc(
        securecomp.lira_through(leak_batch.scores, leak_models.logits, leak_keep,
                              leak_population.y),
        leak_keep, api_name="CKKS", queries=leak_queries, seed=seed),
}
leak_plain_mi, leak_he_mi = leak_member.values()
leak_logit_gap = np.abs(leak_batch.scores - leak_models.logits).max()
display(plots.table(pd.DataFrame([{
    "API": name, "answers used": r.queries, "LiRA AUC (mean over targets)": str(r.auc),
    "pooled AUC": r.pooled_auc,
    "targets above 0.5": f"{(r.per_target_auc > 0.5).sum()}/{len(r.per_target_auc)}",
} for name, r in leak_member.items()]), precision=4, caption="Online LiRA against 32 logistic "
    "models, 500 candidate patients each (95% bootstrap interval over targets)"))
leak_auc_gap = np.abs(leak_he_mi.per_target_auc - leak_plain_mi.per_target_auc).max()
print(f"largest difference of an encrypted answer's logit: {leak_logit_gap:.1e}, of a "
      f"target's AUC: {leak_auc_gap:.1e}; CKKS: "
      f"{leak_batch.n_ciphertexts} ciphertexts encrypted in {leak_batch.encrypt_ms:.0f} ms, "
      f"32 servers computed for {leak_batch.compute_ms:.0f} ms")
claims.claim("not stopped: LiRA finds members through the encrypted API (AUC, lower bound)",
             leak_he_mi.auc.low, at_least=0.51)
claims.claim("not stopped: the encrypted-API AUC lies within the plaintext interval (margin)",
             min(leak_he_mi.auc.value - leak_plain_mi.auc.low,
                 leak_plain_mi.auc.high - leak_he_mi.auc.value), at_least=0.0)
claims.claim("not stopped: encryption changes the membership AUC by (absolute difference)",
             abs(leak_he_mi.auc.value - leak_plain_mi.auc.value), at_most=0.002)


# %%
plots.before_after_bars(
    ["theft: agreement with the victim", "membership: LiRA AUC"],
    [leak_plain_theft.fidelity.value, leak_plain_mi.auc.value],
    [leak_he_theft.fidelity.value, leak_he_mi.auc.value],
    before_name="plaintext API", after_name="encrypted API (CKKS)",
    title="Two attacks, with and without encryption", yaxis_title="attack success")


# %% [markdown]
# The leak is small (lab 05 measured the same for this model), and encryption leaves it
# where it was: the largest per-target difference printed above comes from CKKS's noise,
# because the attacker decrypts the same answers. The interval, not the point estimate, is
# what stays above chance.
#
# **What would help instead** acts on the answers or on the training, not on the channel.
# Lab 04's **output hardening** (labels only, rounding, the reverse sigmoid) and **query
# budgets with monitoring** make theft cost more queries. Lab 05's **differential privacy**
# (DP-SGD) bounds what any one patient changes in the answers. DP carries over to HE as it
# is: it changes the weights, not the serving. Hardening is harder under HE. Here the client
# decrypts the exact score, a logit, which is all that equation solving needs. To round or
# threshold it, the server must do so on ciphertexts, and a comparison costs a high-degree
# polynomial (or an SMPC protocol). HE and SMPC protect the inputs, and encryption at rest
# protects the file. None of them protects what the answers reveal.


# %%
leak_seconds = time.perf_counter() - leak_t0
print(f"section 7: {leak_seconds:.1f} s wall, {time.process_time() - leak_cpu0:.1f} s CPU")
SUMMARY["not stopped"] = {"rows": [
    {"attack": "model extraction (lab 04): equation solving, medical model",
     "plaintext_api": leak_plain_theft.fidelity.value,
     "encrypted_api": leak_he_theft.fidelity.value,
     "measure": f"agreement of the copy with the victim on {leak_on}",
     "queries": leak_he_theft.queries},
    {"attack": "membership inference (lab 05): online LiRA, 32 medical models",
     "plaintext_api": leak_plain_mi.auc.value, "encrypted_api": leak_he_mi.auc.value,
     "measure": "ROC AUC, mean over 32 targets x 500 candidate patients",
     "queries": leak_he_mi.queries},
]}


# %% [markdown]
# ## Summary: the trade-off, measured
#
# One row per system and technique, every number from this run: the time per prediction
# (the data owner's encryption and decryption included where they apply), the bytes that
# travel per prediction, the largest error of the returned probability or score against the
# plaintext model, the share of decisions that stayed the same, and the trust each technique
# needs. A technique that does not apply to a system as it is says why.


# %%
summary_rows = []
for domain in catalogue.DOMAINS:
    for row in SUMMARY[domain]["rows"]:
        summary_rows.append({
            "system": domain, "technique": row["technique"],
            "ms / prediction": row["ms_per_prediction"] if row["applies"] else None,
            "kB / prediction": (row["bytes_per_prediction"] / 1e3
                                if row["applies"] and row["bytes_per_prediction"] is not None
                                else None),
            "max error": row["max_abs_error"] if row["applies"] else None,
            "same decisions": row["agreement"] if row["applies"] else None,
            "who must be trusted": row["trusted"],
            "what leaks anyway": row["leaks"] if row["applies"] else row["note"],
        })
summary = pd.DataFrame(summary_rows)
summary_shown = summary.assign(**{"max error": summary["max error"].map(
    lambda v: "-" if pd.isna(v) else f"{v:.1e}")})
display(plots.table(summary_shown, caption="Secure computation for the five systems: time, "
                    "bytes, precision and trust, measured in this run"))


# %%
summary_fig = go.Figure()
for technique, group in summary.dropna(subset=["ms / prediction"]).groupby("technique",
                                                                              sort=False):
    summary_fig.add_trace(go.Bar(name=technique, x=group["system"], y=group["ms / prediction"]))
summary_fig.update_layout(barmode="group", yaxis_type="log", yaxis_title="ms per prediction "
                          "(log scale)", height=420,
                          title="What hiding the input costs, per prediction and per system")
summary_fig


# %%
applies = summary.dropna(subset=["max error"])
secure = applies[~applies["technique"].str.startswith("plaintext")]
# an encrypted polynomial sigmoid approximates the probability by design (section 5): the rows
# that return the model's own score are the ones that must match it
exact = secure[~secure["technique"].str.contains("polynomial")]
summary_worst = exact.loc[exact["max error"].idxmax()]
plain_ms = summary[summary["technique"].str.startswith("plaintext")].set_index("system")[
    "ms / prediction"]
summary_slowdown = (secure["ms / prediction"] / secure["system"].map(plain_ms)).agg(["min",
                                                                                    "max"])
display(Markdown(
    f"**What the table shows.** Every technique that applies returned what the plaintext model "
    f"returns: the largest error of a secure row that returns the model's score was "
    f"{summary_worst['max error']:.1e} ({summary_worst['technique']}, "
    f"{summary_worst['system']}); the encrypted polynomial sigmoid is an approximation, as "
    f"section 5 measured. Decisions agreed on at least {secure['same decisions'].min():.3f} "
    f"of the evaluated queries. The price is "
    f"time and bytes: secure rows took {summary_slowdown['min']:.0f} to "
    f"{summary_slowdown['max']:,.0f} times the plaintext model's time per prediction. Rows "
    f"marked as not applying need a model the technique can evaluate (no comparisons, no "
    f"ReLU, no max): the sections trained such variants and measured what they cost. And "
    f"none of the techniques stops a client that is allowed to query: section 7's attacks "
    f"ran unchanged through the encrypted API."))
claims.claim("every applicable secure technique matches plaintext (largest probability or "
             "score error)", float(summary_worst["max error"]), at_most=1e-3)


# %% [markdown]
# ## Challenge · A dealer that reuses its masks
#
# Beaver multiplication is safe because the dealer's mask `A` is fresh for every value it
# hides: the parties open `E = x - A` and learn nothing. `lab10.reused_mask_task(seed=...)`
# is the transcript of a lazy dealer who reused **one** mask for every patient: you are one of
# the three parties and saw `task.opened`, the values `E_t = enc(x_t) - A` (modulo 2^64,
# fixed point with `task.frac_bits` fractional bits) opened for each patient `t`, 300 patients
# by 5 measurements (`task.columns`). The hospital also published each measurement's range,
# `task.ranges` (every patient lies inside). Write `recover_records(task)` returning the
# patients' measurements as a (300, 5) float array: you pass when at least
# `lab10.CHALLENGE_RECOVERED` of the values are within `lab10.CHALLENGE_TOLERANCE` of their
# range's width of the truth. The check grades on transcripts you have not seen.


# %%
def recover_records(task):
    ### BEGIN SOLUTION
    # With one mask for everyone, E_t - E_0 = enc(x_t) - enc(x_0): the mask cancels, and every
    # patient is known up to one offset per measurement. The published range pins the offset:
    # x_0 lies in [lo - min(d), hi - max(d)]; take the middle.
    E = np.asarray(task.opened, dtype=np.uint64)
    d = (E - E[0]).view(np.int64).astype(np.float64) / 2.0 ** task.frac_bits
    lo, hi = task.ranges[:, 0], task.ranges[:, 1]
    return ((lo - d.min(axis=0)) + (hi - d.max(axis=0))) / 2 + d
    ### END SOLUTION


# %%
### POINTS: 3
recover_records = check(lab10.CHALLENGE, recover_records)
### BEGIN HIDDEN TESTS
grade(lab10.CHALLENGE, recover_records)
### END HIDDEN TESTS


# %%
fresh_task = lab10.reused_mask_task(seed=1000 + seed)  # never graded
fresh_naive = fresh_task.opened.view(np.int64) / 2.0 ** fresh_task.frac_bits
fresh_share = lab10.challenge_outcome(fresh_task, recover_records(fresh_task))
print(f"on a fresh transcript: decoding one party's opened values recovers "
      f"{lab10.challenge_outcome(fresh_task, fresh_naive):.3f} of the values; your attack "
      f"recovers {fresh_share:.3f}")
claims.claim("a reused Beaver mask gives the records away (share recovered, fresh transcript)",
             fresh_share, at_least=lab10.CHALLENGE_RECOVERED)


# %% [markdown]
# The flaw was not in the cryptography but in its use: a one-time mask used twice is no
# longer a mask, exactly as a one-time pad or a GCM nonce used twice gives away the
# difference of two secrets. Audits of secure-computation code look for fresh randomness per
# value, and implementations derive it so that reuse is impossible (a counter or a fresh
# triple per multiplication, checked by the dealer).


# %% [markdown]
# ## Reflection
#
# Answer each question in its cell; the rubric in the instructor's version gives the points.


# %% [markdown]
# ### POINTS: 3
# **1.** A hospital asks whether encrypting patients' records with CKKS before sending them
# to a diagnosis service makes the service "GDPR-safe". Using this lab's measurements, say
# what CKKS protects, what it does not, and what else the hospital should ask for.
#
# ### BEGIN SOLUTION
# Model answer: CKKS hides the input from the service (it computes on ciphertexts and cannot
# decrypt; only the hospital holds the secret key), so a breach at the service exposes no
# record. It does not hide the output from the key holder, the number, size and timing of
# queries, or which model is used; and the service's model is exposed to the hospital, which
# can extract it (section 7). The hospital should also ask for the data-processing agreement,
# limits on what the service logs (metadata), an evaluation of the model's accuracy on its
# population, and for output protections where patients query themselves. Rubric: 1 point
# for what it protects, 1 for what it does not, 1 for the further requests.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **2.** The textbook polynomial sigmoid dropped the diagnosis accuracy to chance on raw
# logits, and scaling restored it. Explain why, and how you would choose a polynomial for a
# model you have not seen.
#
# ### BEGIN SOLUTION
# Model answer: a low-degree polynomial approximates the sigmoid only on a bounded interval
# (about [-5, 5] for the textbook cubic); outside it the cubic term dominates and the output
# leaves [0, 1] with the wrong sign, so large logits are misclassified. Scaling the logits
# into the fit range, or fitting the polynomial on the range the logits really take, fixes
# it. For an unseen model: measure the logits' range on representative data (with a margin),
# fit by least squares or minimax on that range, check the error with a function like
# exercise 3's, and bound or clip inputs so the range holds. Rubric: 1 point for the cause,
# 2 for the procedure.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **3.** Three banks score transactions with secret sharing. Two of them decide to pool their
# shares. What can they learn in this lab's protocol, and what would change if the dealer of
# Beaver triples joined them?
#
# ### BEGIN SOLUTION
# Model answer: with three-party additive sharing, two parties' shares are uniformly random
# and independent of the secret (section 5 measured it): the two banks learn nothing beyond
# the output they are entitled to. The opened values E = x - A are masked by the dealer's A;
# a dealer who colludes knows A and so learns x from any opened E: the protocol assumes the
# dealer does not collude (or replaces it by a protocol that generates triples jointly).
# Rubric: 1 point for the two banks, 2 for the dealer.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **4.** Sealing a model file with AES-GCM detected every flipped bit. Describe an attack on
# the model file that sealing does not stop, and the control that would.
#
# ### BEGIN SOLUTION
# Model answer: examples: an attacker with the key-encryption key (or access to the serving
# host) decrypts or replaces the model legitimately; a rollback to an older, validly sealed
# version if the version is not checked against a trusted record (the lab binds name and
# version as associated data, but the reader must ask for the right version); reading the
# model from memory while it serves; a poisoned model sealed before it was checked (sealing
# protects integrity from sealing onward, not the training pipeline). Controls: key
# management with separation of duties and rotation, a signed manifest of versions (lab 11),
# host hardening, provenance checks before sealing. Rubric: 1 point for the attack, 2 for a
# control that addresses it.
# ### END SOLUTION


# %% [markdown]
# ## Further reading
#
# - J. H. Cheon, A. Kim, M. Kim and Y. Song, "Homomorphic Encryption for Arithmetic of
#   Approximate Numbers", ASIACRYPT 2017 (CKKS).
# - A. Benaissa, B. Retiat, B. Cebere and A. E. Belfedhal, "TenSEAL: A Library for Encrypted
#   Tensor Operations Using Homomorphic Encryption", ICLR 2021 workshop; Microsoft SEAL.
# - R. Gilad-Bachrach et al., "CryptoNets: Applying Neural Networks to Encrypted Data with
#   High Throughput and Accuracy", ICML 2016 (square activations).
# - A. Kim, Y. Song, M. Kim, K. Lee and J. H. Cheon, "Logistic regression model training based
#   on the approximate homomorphic encryption", BMC Medical Genomics 2018 (polynomial
#   sigmoids).
# - D. Beaver, "Efficient Multiparty Protocols Using Circuit Randomization", CRYPTO 1991;
#   P. Mohassel and Y. Zhang, "SecureML", IEEE S&P 2017.
# - B. Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine Learning",
#   NeurIPS 2021; M. Keller, "MP-SPDZ", CCS 2020.
# - NIST SP 800-38D (GCM) and SP 800-57 (key management); F. Tramèr et al., "Stealing Machine
#   Learning Models via Prediction APIs", USENIX Security 2016.
# - OWASP ML Top 10 ML05 (Model Theft); MITRE ATLAS AML.T0025 (Exfiltration via Cyber Means)
#   and AML.T0024 (Exfiltration via ML Inference API).
