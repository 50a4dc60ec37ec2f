// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {ITraceLedger} from "./interfaces/ITraceLedger.sol";
import {LedgerAccess} from "./access/LedgerAccess.sol";
import {Gs1} from "./libraries/Gs1.sol";
import {LedgerTypes} from "./libraries/LedgerTypes.sol";

/// @title YuTrace (渝溯) trace ledger
/// @notice See {ITraceLedger}. Event bodies stay off-chain; this contract holds what must not depend
/// on trusting the gateway: roles, products, batches, lineage, recalls, serial roots and anchors.
contract TraceLedger is LedgerAccess {
    /// @notice Most input batches one batch may list (a hotpot base lists its chili, tallow, spices…).
    uint256 public constant MAX_PARENTS = 32;
    /// @notice Most ancestor entries `recalledAncestor` walks before giving up.
    uint256 public constant MAX_ANCESTOR_WALK = 256;

    mapping(uint64 gtin => Product) private _products;
    mapping(bytes32 batchId => Batch) private _batches;
    mapping(bytes32 batchId => mapping(bytes32 root => uint32 count)) private _serialRoots;
    mapping(bytes32 root => Anchor) private _anchors;
    uint64 private _anchorCount;

    /// @param admin the platform operator (DEFAULT_ADMIN_ROLE): onboards organisations and grants roles
    constructor(address admin) LedgerAccess(admin) {}

    // ================================================================ products and batches

    /// @inheritdoc ITraceLedger
    function registerProduct(uint64 gtin, bytes32 metadataHash) external {
        _registerProduct(_msgSender(), gtin, metadataHash);
    }

    /// @inheritdoc ITraceLedger
    function registerProductBySig(uint64 gtin, bytes32 metadataHash, Authorization calldata auth) external {
        bytes32 structHash = LedgerTypes.hashRegisterProduct(
            auth.signer,
            gtin,
            metadataHash,
            auth.nonce,
            auth.deadline
        );
        _registerProduct(_authorize(structHash, auth), gtin, metadataHash);
    }

    /// @inheritdoc ITraceLedger
    function registerBatch(
        uint64 gtin,
        string calldata lot,
        bytes32 metadataHash,
        bytes32[] calldata parents
    ) external returns (bytes32) {
        return _registerBatch(_msgSender(), gtin, lot, metadataHash, parents);
    }

    /// @inheritdoc ITraceLedger
    function registerBatchBySig(
        uint64 gtin,
        string calldata lot,
        bytes32 metadataHash,
        bytes32[] calldata parents,
        Authorization calldata auth
    ) external returns (bytes32) {
        bytes32 structHash = LedgerTypes.hashRegisterBatch(auth, gtin, lot, metadataHash, parents);
        return _registerBatch(_authorize(structHash, auth), gtin, lot, metadataHash, parents);
    }

    /// @inheritdoc ITraceLedger
    function commitSerials(bytes32 batchId, bytes32 root, uint32 count) external {
        _commitSerials(_msgSender(), batchId, root, count);
    }

    /// @inheritdoc ITraceLedger
    function commitSerialsBySig(bytes32 batchId, bytes32 root, uint32 count, Authorization calldata auth) external {
        bytes32 structHash = LedgerTypes.hashCommitSerials(
            auth.signer,
            batchId,
            root,
            count,
            auth.nonce,
            auth.deadline
        );
        _commitSerials(_authorize(structHash, auth), batchId, root, count);
    }

    // ================================================================ batch status

    /// @inheritdoc ITraceLedger
    function holdBatch(bytes32 batchId, bytes32 reasonHash) external {
        _holdBatch(_msgSender(), batchId, reasonHash);
    }

    /// @inheritdoc ITraceLedger
    function holdBatchBySig(bytes32 batchId, bytes32 reasonHash, Authorization calldata auth) external {
        bytes32 structHash = LedgerTypes.hashBatchAction(
            LedgerTypes.HOLD_BATCH_TYPEHASH,
            auth.signer,
            batchId,
            reasonHash,
            auth.nonce,
            auth.deadline
        );
        _holdBatch(_authorize(structHash, auth), batchId, reasonHash);
    }

    /// @inheritdoc ITraceLedger
    function releaseBatch(bytes32 batchId, bytes32 reasonHash) external {
        _releaseBatch(_msgSender(), batchId, reasonHash);
    }

    /// @inheritdoc ITraceLedger
    function releaseBatchBySig(bytes32 batchId, bytes32 reasonHash, Authorization calldata auth) external {
        bytes32 structHash = LedgerTypes.hashBatchAction(
            LedgerTypes.RELEASE_BATCH_TYPEHASH,
            auth.signer,
            batchId,
            reasonHash,
            auth.nonce,
            auth.deadline
        );
        _releaseBatch(_authorize(structHash, auth), batchId, reasonHash);
    }

    /// @inheritdoc ITraceLedger
    function recall(bytes32 batchId, bytes32 reasonHash) external {
        _recall(_msgSender(), batchId, reasonHash);
    }

    /// @inheritdoc ITraceLedger
    function recallBySig(bytes32 batchId, bytes32 reasonHash, Authorization calldata auth) external {
        bytes32 structHash = LedgerTypes.hashBatchAction(
            LedgerTypes.RECALL_TYPEHASH,
            auth.signer,
            batchId,
            reasonHash,
            auth.nonce,
            auth.deadline
        );
        _recall(_authorize(structHash, auth), batchId, reasonHash);
    }

    // ================================================================ anchoring and pause

    /// @inheritdoc ITraceLedger
    function anchor(
        bytes32 root,
        uint32 leafCount,
        uint32 eventCount
    ) external onlyRole(ANCHORER_ROLE) whenNotPaused returns (uint64 seq) {
        if (root == bytes32(0) || leafCount == 0 || eventCount < leafCount) {
            revert TraceLedgerInvalidAnchor(root, leafCount, eventCount);
        }
        uint64 existing = _anchors[root].seq;
        if (existing != 0) revert TraceLedgerAnchorExists(root, existing);
        seq = ++_anchorCount;
        _anchors[root] = Anchor({
            seq: seq,
            blockNumber: uint64(block.number),
            blockTime: uint64(block.timestamp),
            leafCount: leafCount,
            eventCount: eventCount
        });
        emit Anchored(seq, root, leafCount, eventCount);
    }

    /// @inheritdoc ITraceLedger
    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    /// @inheritdoc ITraceLedger
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ================================================================ reads

    /// @inheritdoc ITraceLedger
    function getProduct(uint64 gtin) external view returns (Product memory) {
        return _requireProduct(gtin);
    }

    /// @inheritdoc ITraceLedger
    function getBatch(bytes32 batchId) external view returns (Batch memory) {
        return _requireBatch(batchId);
    }

    /// @inheritdoc ITraceLedger
    function batchIdOf(uint64 gtin, string calldata lot) external pure returns (bytes32) {
        return keccak256(abi.encode(gtin, lot));
    }

    /// @inheritdoc ITraceLedger
    function recalledAncestor(bytes32 batchId) external view returns (bool recalled, bytes32 ancestor) {
        // Breadth-first over a fixed-size queue, checking each parent's status as it is queued, so
        // the nearest recalled generation is found first and the walk stops there.
        bytes32[] memory queue = new bytes32[](MAX_ANCESTOR_WALK);
        uint256 head;
        uint256 tail;
        bytes32[] storage parents = _requireBatch(batchId).parents;
        while (true) {
            for (uint256 i = 0; i < parents.length; ++i) {
                bytes32 parent = parents[i];
                if (_batches[parent].status == BatchStatus.Recalled) return (true, parent);
                if (tail == MAX_ANCESTOR_WALK) revert TraceLedgerLineageTooLarge(batchId, MAX_ANCESTOR_WALK);
                queue[tail++] = parent;
            }
            if (head == tail) break;
            parents = _batches[queue[head++]].parents;
        }
        return (false, bytes32(0));
    }

    /// @inheritdoc ITraceLedger
    function serialCommitment(bytes32 batchId, bytes32 root) external view returns (uint32) {
        return _serialRoots[batchId][root];
    }

    /// @inheritdoc ITraceLedger
    function serialLeaf(bytes32 batchId, string calldata serial) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(batchId, serial))));
    }

    /// @inheritdoc ITraceLedger
    function verifySerial(
        bytes32 batchId,
        string calldata serial,
        bytes32 root,
        bytes32[] calldata proof
    ) external view returns (bool) {
        return _serialRoots[batchId][root] != 0 && MerkleProof.verifyCalldata(proof, root, serialLeaf(batchId, serial));
    }

    /// @inheritdoc ITraceLedger
    function getAnchor(bytes32 root) external view returns (Anchor memory a) {
        a = _anchors[root];
        if (a.seq == 0) revert TraceLedgerUnknownAnchor(root);
    }

    /// @inheritdoc ITraceLedger
    function anchorCount() external view returns (uint64) {
        return _anchorCount;
    }

    /// @inheritdoc ITraceLedger
    function verifyAnchoredLeaf(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        return _anchors[root].seq != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc ITraceLedger
    function hashSubmission(address org, bytes32 root, uint32 count, uint256 nonce) external view returns (bytes32) {
        return _hashTypedDataV4(LedgerTypes.hashSubmission(org, root, count, nonce));
    }

    /// @notice ERC-165: AccessControl and ITraceLedger.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(ITraceLedger).interfaceId || super.supportsInterface(interfaceId);
    }

    // ================================================================ write logic, shared by both forms

    function _registerProduct(address actor, uint64 gtin, bytes32 metadataHash) private whenNotPaused {
        bytes32 orgId = _participant(actor, PRODUCER_ROLE);
        if (!Gs1.isValidGtin(gtin)) revert TraceLedgerInvalidGtin(gtin);
        Product storage product = _products[gtin];
        if (product.owner != bytes32(0)) revert TraceLedgerProductExists(gtin, product.owner);
        product.owner = orgId;
        product.metadataHash = metadataHash;
        product.registeredAt = uint64(block.timestamp);
        emit ProductRegistered(gtin, orgId, metadataHash);
    }

    function _registerBatch(
        address actor,
        uint64 gtin,
        string calldata lot,
        bytes32 metadataHash,
        bytes32[] calldata parents
    ) private whenNotPaused returns (bytes32 batchId) {
        bytes32 orgId = _participant(actor, PRODUCER_ROLE);
        if (_requireProduct(gtin).owner != orgId) revert TraceLedgerNotProductOwner(gtin, orgId);
        if (!Gs1.isValidLot(lot)) revert TraceLedgerInvalidLot(lot);
        batchId = keccak256(abi.encode(gtin, lot));
        Batch storage batch = _batches[batchId];
        if (batch.status != BatchStatus.None) revert TraceLedgerBatchExists(batchId);
        _requireValidParents(parents);
        batch.producer = orgId;
        batch.metadataHash = metadataHash;
        batch.gtin = gtin;
        batch.registeredAt = uint64(block.timestamp);
        batch.status = BatchStatus.Active;
        batch.parents = parents;
        emit BatchRegistered(batchId, gtin, orgId, lot, metadataHash, parents);
    }

    function _commitSerials(address actor, bytes32 batchId, bytes32 root, uint32 count) private whenNotPaused {
        bytes32 orgId = _participant(actor, PRODUCER_ROLE);
        Batch storage batch = _requireBatch(batchId);
        if (batch.producer != orgId) revert TraceLedgerNotBatchProducer(batchId, orgId);
        if (batch.status == BatchStatus.Recalled) revert TraceLedgerBatchRecalled(batchId);
        if (root == bytes32(0) || count == 0) revert TraceLedgerInvalidSerialCommitment(batchId, root, count);
        if (_serialRoots[batchId][root] != 0) revert TraceLedgerSerialsExist(batchId, root);
        _serialRoots[batchId][root] = count;
        emit SerialsCommitted(batchId, root, count);
    }

    function _holdBatch(address actor, bytes32 batchId, bytes32 reasonHash) private whenNotPaused {
        (bytes32 orgId, Batch storage batch) = _statusAuthority(actor, batchId, true);
        _setStatus(batchId, batch, BatchStatus.Held, orgId, reasonHash);
    }

    function _releaseBatch(address actor, bytes32 batchId, bytes32 reasonHash) private whenNotPaused {
        bytes32 orgId = _participant(actor, REGULATOR_ROLE);
        _setStatus(batchId, _requireBatch(batchId), BatchStatus.Active, orgId, reasonHash);
    }

    function _recall(address actor, bytes32 batchId, bytes32 reasonHash) private whenNotPaused {
        (bytes32 orgId, Batch storage batch) = _statusAuthority(actor, batchId, false);
        _setStatus(batchId, batch, BatchStatus.Recalled, orgId, reasonHash);
    }

    /// @dev Allowed moves: Active → Held, Held → Active, Active/Held → Recalled. Recalled is final.
    function _setStatus(
        bytes32 batchId,
        Batch storage batch,
        BatchStatus status,
        bytes32 byOrg,
        bytes32 reasonHash
    ) private {
        BatchStatus previous = batch.status;
        if (previous == BatchStatus.Recalled) revert TraceLedgerBatchRecalled(batchId);
        bool allowed =
            status == BatchStatus.Recalled ||
                (status == BatchStatus.Held && previous == BatchStatus.Active) ||
                (status == BatchStatus.Active && previous == BatchStatus.Held);
        if (!allowed) revert TraceLedgerInvalidStatusTransition(batchId, previous, status);
        batch.status = status;
        emit BatchStatusChanged(batchId, status, byOrg, previous, reasonHash);
    }

    // ================================================================ checks

    /// @dev A regulator; an inspector when `inspectorMay`; or the producer of the batch itself.
    function _statusAuthority(
        address account,
        bytes32 batchId,
        bool inspectorMay
    ) private view returns (bytes32 orgId, Batch storage batch) {
        bool anyBatch = hasRole(REGULATOR_ROLE, account) || (inspectorMay && hasRole(INSPECTOR_ROLE, account));
        if (!anyBatch && !hasRole(PRODUCER_ROLE, account)) {
            revert AccessControlUnauthorizedAccount(account, REGULATOR_ROLE);
        }
        orgId = _activeOrganisationOf(account);
        batch = _requireBatch(batchId);
        if (!anyBatch && batch.producer != orgId) revert TraceLedgerNotBatchProducer(batchId, orgId);
    }

    function _requireValidParents(bytes32[] calldata parents) private view {
        if (parents.length > MAX_PARENTS) revert TraceLedgerTooManyParents(parents.length, MAX_PARENTS);
        for (uint256 i = 0; i < parents.length; ++i) {
            bytes32 parent = parents[i];
            BatchStatus status = _batches[parent].status;
            if (status == BatchStatus.None) revert TraceLedgerUnknownBatch(parent);
            if (status != BatchStatus.Active) revert TraceLedgerParentNotActive(parent, status);
            for (uint256 j = 0; j < i; ++j) {
                if (parents[j] == parent) revert TraceLedgerDuplicateParent(parent);
            }
        }
    }

    function _requireProduct(uint64 gtin) private view returns (Product storage product) {
        product = _products[gtin];
        if (product.owner == bytes32(0)) revert TraceLedgerUnknownProduct(gtin);
    }

    function _requireBatch(bytes32 batchId) private view returns (Batch storage batch) {
        batch = _batches[batchId];
        if (batch.status == BatchStatus.None) revert TraceLedgerUnknownBatch(batchId);
    }
}
