"""What nudges the beam: the word list, the character language model, the prior."""
