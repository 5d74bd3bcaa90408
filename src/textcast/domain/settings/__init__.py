"""Settings changed while textcast runs: the values an admin stored over the environment's,
and the revision every process watches to notice a change (`stored`)."""
