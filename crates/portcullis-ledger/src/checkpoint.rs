//! C2SP tlog checkpoints (being written).
