"""Readers for datasets in their published on-disk formats, dataset classes, image transforms, and where the files
are expected to live. (Not `experiments/data/`: `data/` is git-ignored, for the downloaded files themselves.)
"""
