"""Reading word images: charset, preprocessing, the network, model files, decoding."""
