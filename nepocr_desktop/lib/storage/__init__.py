"""What the app keeps on disk: labelled folders, the user's sample store and model library."""

from __future__ import annotations

from .dataset import DatasetError, Sample, read_dataset, read_gt_pairs, read_labels_tsv
from .library import BUNDLED, ActiveModel, ModelEntry, ModelLibrary
from .store import (
    DB_NAME,
    CorruptStoreError,
    ImportReport,
    InvalidSampleError,
    LockedStoreError,
    SampleNotFoundError,
    SampleStore,
    SkippedItem,
    StoredSample,
    StoreError,
    StoreWriteError,
)

__all__ = [
    "BUNDLED",
    "DB_NAME",
    "ActiveModel",
    "CorruptStoreError",
    "DatasetError",
    "ImportReport",
    "InvalidSampleError",
    "LockedStoreError",
    "ModelEntry",
    "ModelLibrary",
    "Sample",
    "SampleNotFoundError",
    "SampleStore",
    "SkippedItem",
    "StoreError",
    "StoreWriteError",
    "StoredSample",
    "read_dataset",
    "read_gt_pairs",
    "read_labels_tsv",
]
