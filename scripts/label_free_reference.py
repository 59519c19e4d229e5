"""NumPy reference of the label-free methods, written from the papers' equations, independent of
the Swift code: InMaP, TransCLIP-ZS, ZLaP, and the prior-aware transport proxies.

Used by scripts/make_label_free_fixtures.py (test fixtures) and by hand on cached features
(docs/method-study.md). Everything in float64.
"""
import numpy as np
from scipy.sparse import csr_matrix, diags, identity
from scipy.sparse.linalg import cg


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def unit_rows(a):
    n = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.where(n > 0, n, 1)


def sinkhorn(cos, temperature=0.01, iterations=20, marginal=None):
    """Soft labels [N, C]: rows sum to 1, column means approach `marginal` (uniform if None)."""
    n, c = cos.shape
    q = np.full(c, 1.0 / c) if marginal is None else np.asarray(marginal, float) / np.sum(marginal)
    p = softmax(cos / temperature)
    for _ in range(iterations):
        p = p * (q * n / p.sum(0))
        p = p / p.sum(1, keepdims=True)
    return p


def sharpen(p, threshold=0.6):
    p = p.copy()
    best = p.argmax(1)
    rows = p.max(1) > threshold
    p[rows] = 0
    p[rows, best[rows]] = 1
    return p


def fit_proxies(x, init, targets, temperature=0.04, lr=10.0, steps=2000):
    """Full-batch gradient descent on CE(softmax(X Wᵀ / τ), targets); rows re-normalised each step;
    the step halves when the gradient norm grows."""
    w = init.copy()
    base = targets.T @ x
    previous = np.inf
    for _ in range(steps):
        grad = softmax(x @ w.T / temperature).T @ x - base
        norm = np.linalg.norm(grad)
        if norm > previous:
            lr /= 2
        previous = norm
        w = unit_rows(w - lr / (len(x) * temperature) * grad)
    return w


def inmap(pool, text, steps=2000):
    labels = sharpen(sinkhorn(pool @ text.T))
    return fit_proxies(pool, text, labels, steps=steps)


def mixture_prior(x, posteriors, iterations=10, floor=1e-3):
    """Class shares of a Gaussian mixture (one shared diagonal variance, free weights) started at
    `posteriors`."""
    n, d = x.shape
    z = posteriors.copy()
    pi = z.mean(0)
    for _ in range(iterations):
        sums = z.T @ x
        totals = pi * n
        mu = unit_rows(sums / np.where(totals > 0, totals, 1)[:, None])
        var = np.maximum(((x ** 2).sum(0) - 2 * (mu * sums).sum(0) + (mu ** 2 * totals[:, None]).sum(0)) / n, 1e-12)
        logits = x @ (mu / var).T - 0.5 * ((mu ** 2) / var).sum(1)[None, :] + np.log(np.maximum(pi, 1e-300))[None, :]
        z = softmax(logits)
        pi = z.mean(0)
    pi = np.maximum(pi, floor)
    return pi / pi.sum()


def kappa(first, second, classes):
    """Cohen's κ of two labelings of the same images."""
    a = np.bincount(first, minlength=classes) / len(first)
    b = np.bincount(second, minlength=classes) / len(second)
    chance = (a * b).sum()
    return ((first == second).mean() - chance) / (1 - chance)


def transport_rounds(pool, text, proxies, marginal, rounds, steps):
    """Rounds 2..rounds: labels transported from the previous proxies' cosines, proxies refitted from the text."""
    for _ in range(rounds - 1):
        proxies = fit_proxies(pool, text, sharpen(sinkhorn(pool @ proxies.T, marginal=marginal)), steps=steps)
    return proxies


def prior_transport(pool, text, logit_scale, steps=500, prior_iterations=10, rounds=8, keep_zero_shot_above=0.9, hedge_uniform=True):
    """The default: transport to the mixture's marginal and fit proxies; keep zero-shot when its
    labels agree with the first proxies' to κ >= keep_zero_shot_above; else `rounds - 1` more
    rounds, each transporting from the previous proxies' cosines and refitting from the text;
    with hedge_uniform, the same rounds to a uniform marginal, and the mean of the two proxy sets.
    Returns (class weights, prior, κ, kept zero-shot)."""
    cos = pool @ text.T
    prior = mixture_prior(pool, softmax(logit_scale * cos), prior_iterations)
    proxies = fit_proxies(pool, text, sharpen(sinkhorn(cos, marginal=prior)), steps=steps)
    agreement = kappa(cos.argmax(1), (pool @ proxies.T).argmax(1), text.shape[0])
    if keep_zero_shot_above is not None and agreement >= keep_zero_shot_above:
        return text, prior, agreement, True
    proxies = transport_rounds(pool, text, proxies, prior, rounds, steps)
    if hedge_uniform:
        uniform = transport_rounds(pool, text, fit_proxies(pool, text, sharpen(sinkhorn(cos)), steps=steps), None, rounds, steps)
        proxies = (proxies + uniform) / 2
    return proxies, prior, agreement, False


def knn(queries, keys, k, exclude_self=False):
    """Top-k cosine neighbours [Q, k] (indices, similarities), best first, ties to the lower index."""
    sims = queries @ keys.T
    if exclude_self:
        np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind='stable')[:, :k]
    return order, np.take_along_axis(sims, order, 1)


def transclip_fit(x, text, logit_scale, lam=1.0, k=3, outer=10, inner=5, confident=8):
    n, d = x.shape
    c = len(text)
    y = softmax(logit_scale * x @ text.T)
    z = y.copy()
    mu = np.zeros((c, d))
    for j in range(c):
        top = np.argsort(-z[:, j], kind='stable')[:confident]
        mu[j] = (x[top] * z[top, j:j + 1]).sum(0)
    mu = unit_rows(mu)
    var = np.full(d, 1.0 / d)
    idx, sim = knn(x, x, k, exclude_self=True)
    w = csr_matrix((sim.ravel(), (np.repeat(np.arange(n), k), idx.ravel())), shape=(n, n))
    w = w + w.T
    for it in range(outer + 1):
        ll = -0.5 * (((x ** 2) / var).sum(1)[:, None] - 2 * x @ (mu / var).T + ((mu ** 2) / var).sum(1)[None, :])
        for _ in range(inner):
            a = ll + 50.0 / (2 * k) * (w @ z)
            a -= a.max(1, keepdims=True)
            e = y ** lam * np.exp(a / 50.0)
            z = e / e.sum(1, keepdims=True)
        if it == outer:
            break
        tot = z.sum(0)
        sums = z.T @ x
        mu = unit_rows(sums / tot[:, None])
        var = np.maximum(((x ** 2).sum(0) - 2 * (mu * sums).sum(0) + (mu ** 2 * tot[:, None]).sum(0)) / z.sum(), 1e-12)
    return z, mu, var


def transclip_inductive(pool, text, test, logit_scale, lam=1.0, k=3, **kw):
    zp, mu, var = transclip_fit(pool, text, logit_scale, lam, k, **kw)
    y = softmax(logit_scale * test @ text.T)
    ll = -0.5 * (((test ** 2) / var).sum(1)[:, None] - 2 * test @ (mu / var).T + ((mu ** 2) / var).sum(1)[None, :])
    idx, sim = knn(test, pool, k)
    term = (sim[..., None] * zp[idx]).sum(1)
    a = ll + 50.0 / k * term
    a -= a.max(1, keepdims=True)
    e = y ** lam * np.exp(a / 50.0)
    return e / e.sum(1, keepdims=True)


def zlap_graph(x, text, k=5, gamma=5.0, alpha=0.3):
    n, c = len(x), len(text)
    idx, sim = knn(x, x, min(k, n))
    tidx, tsim = knn(x, text, min(k, c))
    rows = c + np.repeat(np.arange(n), idx.shape[1])
    trows = c + np.repeat(np.arange(n), tidx.shape[1])
    w = csr_matrix((np.concatenate([np.maximum(sim, 0).ravel(), np.maximum(tsim, 0).ravel() ** gamma]),
                    (np.concatenate([rows, trows]), np.concatenate([c + idx.ravel(), tidx.ravel()]))), shape=(n + c, n + c))
    w = w + w.T
    w = w - diags(w.diagonal())
    s = np.asarray(w.sum(1)).ravel()
    inv = np.where(s > 0, 1 / np.sqrt(np.where(s > 0, s, 1)), 0)
    return identity(n + c) - alpha * (diags(inv) @ w @ diags(inv))


def zlap_inverse_columns(L, c, tolerance=1e-6, maxiter=50):
    """Column j: (I − α Ŵ)⁻¹ e_j by conjugate gradient, with the method's own stopping rule."""
    out = np.zeros((L.shape[0], c))
    for j in range(c):
        e = np.zeros(L.shape[0])
        e[j] = 1
        out[:, j] = cg(L, e, rtol=tolerance, maxiter=maxiter)[0]
    return out


def row_normalized(scores):
    s = np.maximum(scores, 0)
    t = s.sum(1, keepdims=True)
    return np.where(t > 0, s / np.where(t > 0, t, 1), 1.0 / scores.shape[1])


def zlap_transductive(x, text, **kw):
    c = len(text)
    return row_normalized(zlap_inverse_columns(zlap_graph(x, text, **kw), c)[c:])


def zlap_inductive(pool, text, test, k=5, gamma=5.0, alpha=0.3):
    c = len(text)
    inv = zlap_inverse_columns(zlap_graph(pool, text, k, gamma, alpha), c)
    idx, sim = knn(test, pool, min(k, len(pool)))
    tidx, tsim = knn(test, text, min(k, c))
    scores = (inv[c + idx] * np.maximum(sim, 0)[..., None]).sum(1) + (inv[tidx] * (np.maximum(tsim, 0) ** gamma)[..., None]).sum(1)
    return row_normalized(scores)
