// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title GS1 identifier checks
/// @notice The same rules the gateway applies, so that the ledger never holds an identifier a
/// GS1 Digital Link resolver would refuse.
library Gs1 {
    uint64 internal constant GTIN14_LIMIT = 1e14;
    uint256 internal constant LOT_MAX_LENGTH = 20;

    /// @notice Whether `gtin` is a non-zero GTIN-14 whose last digit is its GS1 mod-10 check digit.
    function isValidGtin(uint64 gtin) internal pure returns (bool) {
        if (gtin == 0 || gtin >= GTIN14_LIMIT) return false;
        uint64 body = gtin / 10;
        uint256 sum;
        // Weights alternate 3, 1, 3, … starting from the digit next to the check digit.
        for (uint256 i = 0; i < 13; ++i) {
            uint256 digit = body % 10;
            sum += (i % 2 == 0) ? digit * 3 : digit;
            body /= 10;
        }
        return (10 - (sum % 10)) % 10 == gtin % 10;
    }

    /// @notice Whether `lot` is a GS1 AI 10 batch/lot number: 1–20 characters of the GS1 AI 82 set.
    function isValidLot(string calldata lot) internal pure returns (bool) {
        bytes calldata b = bytes(lot);
        if (b.length == 0 || b.length > LOT_MAX_LENGTH) return false;
        for (uint256 i = 0; i < b.length; ++i) {
            if (!_isAi82(uint8(b[i]))) return false;
        }
        return true;
    }

    /// @dev GS1 AI 82: ! " % & ' ( ) * + , - . / 0-9 : ; < = > ? A-Z _ a-z
    function _isAi82(uint8 c) private pure returns (bool) {
        return
            (c >= 0x21 && c <= 0x22) ||
            (c >= 0x25 && c <= 0x3f) ||
            (c >= 0x41 && c <= 0x5a) ||
            c == 0x5f ||
            (c >= 0x61 && c <= 0x7a);
    }
}
