"""Monte Carlo market model shared by the simulator (optexec.monte_carlo) and the feedback policies."""
