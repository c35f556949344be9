"""Coverage-guided fuzzing harnesses (atheris); run by hand, not in CI."""
