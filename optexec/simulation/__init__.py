"""Monte Carlo market model shared by the simulator (optexec.simulate) and the feedback policies."""
