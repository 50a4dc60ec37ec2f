// Preloaded (`node -r`) into the local `hardhat node`: exits when the gateway that started it is
// gone. The gateway holds the write end of this process's stdin; when it exits — even by SIGKILL,
// which runs no clean-up of its own — the pipe closes and this process follows, so a killed gateway
// never leaves its chain behind holding the port. Plain JavaScript: it runs before any transpiler.
"use strict";
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
// The pipe alone must not keep the node alive once hardhat is done.
process.stdin.unref?.();
