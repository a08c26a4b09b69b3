"""The optimizer study's parts; ``examples/optimizer_study.py`` runs them.

tasks.py     the training problems (the project's own: spirals, MNIST-1D, adding, char-LM...)
runs.py      one training run per cell (task, optimizer, lr, seed), the store that resumes
plan.py      which cells the study needs: lr grids, tuning, evaluation, the extra experiments
surfaces.py  2-D test functions: trajectories, the Rastrigin escape test, Newton's path
memory.py    optimizer state and step time, measured
claims.py    the guide's eight claims, each turned into numbers and a verdict
report.py    the Markdown report, study.json and the figures
"""
