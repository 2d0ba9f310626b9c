"""What the app keeps on disk: labelled folders, the sample store, the model library."""
