"""Whole pages: segmentation into lines and words, and PAGE XML."""
