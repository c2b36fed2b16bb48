"""Hierarchical shrinkage of elasticities along the category tree (empirical Bayes, exact Gaussian).

A product's elasticity is drawn around its category's, each category's around its parent's, up to the
shop (flat prior)::

    e_product ~ N(e_leaf, tau_product²),   e_node ~ N(e_parent, tau_depth(node)²)
    estimate  ~ N(e_product, se²)

The variances are chosen by maximising the marginal likelihood of the estimates; the posterior of every
product and category then follows by one upward and one downward pass of Gaussian belief propagation
(exact on a tree). A product whose price barely moved has a large standard error and is pulled towards
its category; its interval includes the uncertainty of the category itself. Category elasticities (the
node posteriors) come out of the same pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

TAU_BOUNDS = (1e-3, 5.0)
TAU_START = 0.3


@dataclass
class CategoryTree:
    parent: np.ndarray  # per node; -1 for the root
    depth: np.ndarray  # per node; 0 for the root
    names: list[str]  # category path of each node ('' for the root)
    leaf_of: np.ndarray  # per product: its category node

    @classmethod
    def from_paths(cls, paths: np.ndarray | list[str]) -> CategoryTree:
        index: dict[tuple[str, ...], int] = {(): 0}
        parent, depth, names, leaf_of = [-1], [0], [""], []
        for path in paths:
            parts = tuple(part.strip() for part in str(path).split(">") if part.strip())
            for level in range(1, len(parts) + 1):
                key = parts[:level]
                if key not in index:
                    index[key] = len(parent)
                    parent.append(index[parts[: level - 1]])
                    depth.append(level)
                    names.append(" > ".join(key))
            leaf_of.append(index[parts])
        return cls(np.array(parent), np.array(depth), names, np.array(leaf_of, dtype=int))

    @property
    def max_depth(self) -> int:
        return int(self.depth.max())


@dataclass
class ShrinkageResult:
    mean: np.ndarray  # per product posterior mean (NaN where the product had no estimate)
    sd: np.ndarray
    prior_mean: np.ndarray  # per product: what its category says about it (before its own estimate)
    prior_sd: np.ndarray
    categories: pd.DataFrame  # category, depth, products, elasticity, sd
    tau: dict[str, float]  # spread of products within a category, and of categories within their parent


@dataclass
class _Pass:
    log_likelihood: float
    node_mean: np.ndarray
    node_sd: np.ndarray
    prior_mean: np.ndarray
    prior_var: np.ndarray
    post_mean: np.ndarray
    post_var: np.ndarray


def shrink(estimate: np.ndarray, se: np.ndarray, categories: np.ndarray | list[str]) -> ShrinkageResult:
    """Posterior elasticities of products (NaN estimates are left out and get only their category's prior)."""
    tree = CategoryTree.from_paths(categories)
    has = np.isfinite(estimate) & np.isfinite(se) & (se > 0)
    est, var = np.where(has, estimate, 0.0), np.where(has, se**2, 1.0)
    n_tau = tree.max_depth + 1  # products, then depth 1 … max depth

    def negative_log_likelihood(log_tau: np.ndarray) -> float:
        return -_belief_propagation(tree, est, var, has, np.exp(2 * log_tau)).log_likelihood

    start = np.full(n_tau, np.log(TAU_START))
    bounds = [tuple(np.log(TAU_BOUNDS))] * n_tau
    best = minimize(negative_log_likelihood, start, method="L-BFGS-B", bounds=bounds) if has.sum() > 1 else None
    tau2 = np.exp(2 * best.x) if best is not None else np.full(n_tau, TAU_START**2)
    result = _belief_propagation(tree, est, var, has, tau2)
    nodes = pd.DataFrame({"category": tree.names, "depth": tree.depth,
                          "products": np.bincount(tree.leaf_of[has], minlength=len(tree.names)),
                          "elasticity": result.node_mean, "sd": result.node_sd})
    nodes["products"] = _subtree_counts(tree, nodes["products"].to_numpy())
    tau = {"product": float(np.sqrt(tau2[0]))} | {f"depth_{d}": float(np.sqrt(tau2[d])) for d in range(1, n_tau)}
    return ShrinkageResult(mean=np.where(has, result.post_mean, np.nan), sd=np.where(has, np.sqrt(result.post_var),
                                                                                     np.nan),
                           prior_mean=result.prior_mean, prior_sd=np.sqrt(result.prior_var),
                           categories=nodes[nodes["depth"] > 0].reset_index(drop=True), tau=tau)


def _subtree_counts(tree: CategoryTree, own: np.ndarray) -> np.ndarray:
    total = own.astype(int).copy()
    for node in np.argsort(-tree.depth):
        if tree.parent[node] >= 0:
            total[tree.parent[node]] += total[node]
    return total


def _belief_propagation(tree: CategoryTree, est: np.ndarray, var: np.ndarray, has: np.ndarray,
                        tau2: np.ndarray) -> _Pass:
    """Upward messages (with the marginal log likelihood), then each node's and product's posterior."""
    n_nodes = len(tree.parent)
    node_tau2 = np.concatenate([[0.0], tau2[1:]])[tree.depth]
    product_var = var + tau2[0]  # what one product's estimate says about its category
    precision = np.bincount(tree.leaf_of[has], 1 / product_var[has], n_nodes)
    weighted = np.bincount(tree.leaf_of[has], est[has] / product_var[has], n_nodes)
    log_lik = -0.5 * float(np.sum(np.log(2 * np.pi * product_var[has]) + est[has] ** 2 / product_var[has]))
    message_mean, message_var = np.zeros(n_nodes), np.full(n_nodes, np.inf)
    for node in np.argsort(-tree.depth, kind="stable"):
        if precision[node] <= 0:
            continue
        mean = weighted[node] / precision[node]
        log_lik += 0.5 * weighted[node] ** 2 / precision[node] + 0.5 * np.log(2 * np.pi / precision[node])
        up = tree.parent[node]
        if up >= 0:
            message_var[node] = 1 / precision[node] + node_tau2[node]
            message_mean[node] = mean
            precision[up] += 1 / message_var[node]
            weighted[up] += mean / message_var[node]
            log_lik -= 0.5 * (np.log(2 * np.pi * message_var[node]) + mean**2 / message_var[node])
    # downward: each node's posterior combines its subtree with what the rest of the tree says about it
    post_precision, post_weighted = np.zeros(n_nodes), np.zeros(n_nodes)
    for node in np.argsort(tree.depth, kind="stable"):
        up = tree.parent[node]
        above_p, above_w = 0.0, 0.0
        if up >= 0:
            own_p = 1 / message_var[node] if np.isfinite(message_var[node]) else 0.0
            rest_p = post_precision[up] - own_p
            rest_w = post_weighted[up] - (message_mean[node] * own_p)
            if rest_p > 1e-12:
                above_var = 1 / rest_p + node_tau2[node]
                above_p, above_w = 1 / above_var, (rest_w / rest_p) / above_var
        post_precision[node] = precision[node] + above_p
        post_weighted[node] = weighted[node] + above_w
    safe = np.maximum(post_precision, 1e-12)
    node_mean = np.where(post_precision > 0, post_weighted / safe, np.nan)
    node_sd = np.where(post_precision > 0, np.sqrt(1 / safe), np.nan)
    # a product: its category's posterior without the product's own message is its prior
    leaf = tree.leaf_of
    own_p = np.where(has, 1 / product_var, 0.0)
    rest_p = np.maximum(post_precision[leaf] - own_p, 1e-12)
    rest_w = post_weighted[leaf] - np.where(has, est / product_var, 0.0)
    prior_mean = rest_w / rest_p
    prior_var = 1 / rest_p + tau2[0]
    post_var = 1 / (1 / var + 1 / prior_var)
    post_mean = post_var * (est / var + prior_mean / prior_var)
    return _Pass(log_lik, node_mean, node_sd, prior_mean, prior_var, post_mean, post_var)
