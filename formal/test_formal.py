"""make formal: SymbiYosys k-induction proofs of the stream primitives, and their meta-tests.

Each proof runs on the real rtl/<module>.sv; its meta-tests run the same proof on copies under
build/formal/broken/ with one line broken (Proof.mutations: a handshake or hold condition, then
a payload) and require a counterexample
reachable from reset, so a proof that cannot fail (vacuous assumptions, a property that
checks nothing) fails here.
"""

from __future__ import annotations

import pytest

from formal.proofs import PROOFS, Proof, run


def _report(proof: Proof, r) -> str:
    return "\n".join([*r.failed, f"log: {r.workdir}/logfile.txt"])


@pytest.mark.parametrize("proof", PROOFS, ids=lambda p: p.name)
def test_proof(proof: Proof):
    r = run(proof)
    assert r.passed, f"{proof.name}: not proved\n{_report(proof, r)}"


@pytest.mark.parametrize(
    ("proof", "mutation"),
    [(p, i) for p in PROOFS for i in range(len(p.mutations))],
    ids=lambda v: v.name if isinstance(v, Proof) else f"broken{v}",
)
def test_broken_copy_fails(proof: Proof, mutation: int):
    """The broken copy must fail the same proof with a counterexample from reset."""
    r = run(proof, mutation)
    breaks = proof.mutations[mutation].breaks
    assert not r.passed, f"{proof.name}: the proof passes on a copy that {breaks}"
    assert r.failed and r.reachable, f"{proof.name} ({breaks}): no counterexample from reset\n{_report(proof, r)}"
