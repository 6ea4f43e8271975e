"""Pure estimator library (torch and numpy only); every function cites THEORY.md."""
