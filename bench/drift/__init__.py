"""B4: prediction-distribution gate and drift watch (issue 9)."""
