"""MusiCNN in pure numpy: the MSD_musicnn weights of the ``musicnn`` wheel, read
straight from its TensorFlow checkpoint, and the network's forward pass.

``checkpoint``  a reader for TensorFlow's tensor-bundle format (.index + .data)
``model``       the mel front end and the network, inference only
"""
