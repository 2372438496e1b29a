"""Every place deepmath reaches past verl's public config: one module per override, each tested on verl 0.9.1.

- `compat`: the verl version deepmath was tested with (any other fails loudly at import), and the table of
  verl internals the overrides rely on (`tests/test_verl_internals.py` fails if one moves).
- `after_import`: runs a registration right after verl imports a registry's module (keeps `import verl` cheap).
- `token_builder`: replaces `verl.experimental.agent_loop.agent_loop.create_continuous_token_builder`.
- `trainer_modes`: verl's v1 trainers with `PPOTrainer._compute_metrics` extended by reward telemetry.

The CPU smoke's platform patches are not here: they live in `deepmath_ext.cpu_smoke` and only ever load in a
`--smoke-cpu` run.
"""
