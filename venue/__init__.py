"""The running venue: sequencer node, journal and block store, replay, FIX gateway, prover
pool, CLI (``provenbook``) and demo. Import the submodules you need; this package imports
nothing heavy on its own."""

__all__: list[str] = []
