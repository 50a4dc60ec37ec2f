// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ITraceLedger} from "../interfaces/ITraceLedger.sol";

/// @title EIP-712 types of TraceLedger
/// @notice The typed-data structs a participant signs. Each names its signer and carries the
/// signer's nonce and a deadline, so a relayer can neither act for anyone nor replay a request.
/// The gateway's `server/chain/typed-data.ts` holds the same types; a test keeps the two equal.
library LedgerTypes {
    bytes32 internal constant REGISTER_PRODUCT_TYPEHASH = keccak256(
        "RegisterProduct(address signer,uint64 gtin,bytes32 metadataHash,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant REGISTER_BATCH_TYPEHASH = keccak256(
        "RegisterBatch(address signer,uint64 gtin,string lot,bytes32 metadataHash,"
        "bytes32[] parents,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant COMMIT_SERIALS_TYPEHASH = keccak256(
        "CommitSerials(address signer,bytes32 batchId,bytes32 root,uint32 count,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant HOLD_BATCH_TYPEHASH = keccak256(
        "HoldBatch(address signer,bytes32 batchId,bytes32 reasonHash,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant RELEASE_BATCH_TYPEHASH = keccak256(
        "ReleaseBatch(address signer,bytes32 batchId,bytes32 reasonHash,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant RECALL_TYPEHASH = keccak256(
        "Recall(address signer,bytes32 batchId,bytes32 reasonHash,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant SUSPEND_ORGANISATION_TYPEHASH = keccak256(
        "SuspendOrganisation(address signer,bytes32 orgId,bytes32 reasonHash,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant REINSTATE_ORGANISATION_TYPEHASH = keccak256(
        "ReinstateOrganisation(address signer,bytes32 orgId,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant SUBMISSION_TYPEHASH = keccak256(
        "Submission(address org,bytes32 root,uint32 count,uint256 nonce)"
    );

    function hashRegisterProduct(
        address signer,
        uint64 gtin,
        bytes32 metadataHash,
        uint256 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(REGISTER_PRODUCT_TYPEHASH, signer, gtin, metadataHash, nonce, deadline));
    }

    function hashRegisterBatch(
        ITraceLedger.Authorization calldata auth,
        uint64 gtin,
        string calldata lot,
        bytes32 metadataHash,
        bytes32[] calldata parents
    ) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    REGISTER_BATCH_TYPEHASH,
                    auth.signer,
                    gtin,
                    keccak256(bytes(lot)),
                    metadataHash,
                    keccak256(abi.encodePacked(parents)),
                    auth.nonce,
                    auth.deadline
                )
            );
    }

    function hashCommitSerials(
        address signer,
        bytes32 batchId,
        bytes32 root,
        uint32 count,
        uint256 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(COMMIT_SERIALS_TYPEHASH, signer, batchId, root, count, nonce, deadline));
    }

    /// @dev HoldBatch, ReleaseBatch and Recall share one shape; `typehash` tells them apart.
    function hashBatchAction(
        bytes32 typehash,
        address signer,
        bytes32 batchId,
        bytes32 reasonHash,
        uint256 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(typehash, signer, batchId, reasonHash, nonce, deadline));
    }

    function hashSuspend(
        address signer,
        bytes32 orgId,
        bytes32 reasonHash,
        uint256 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(SUSPEND_ORGANISATION_TYPEHASH, signer, orgId, reasonHash, nonce, deadline));
    }

    function hashReinstate(
        address signer,
        bytes32 orgId,
        uint256 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(REINSTATE_ORGANISATION_TYPEHASH, signer, orgId, nonce, deadline));
    }

    function hashSubmission(address org, bytes32 root, uint32 count, uint256 nonce) internal pure returns (bytes32) {
        return keccak256(abi.encode(SUBMISSION_TYPEHASH, org, root, count, nonce));
    }
}
