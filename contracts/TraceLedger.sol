// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {ITraceLedger} from "./interfaces/ITraceLedger.sol";
import {Gs1} from "./libraries/Gs1.sol";
import {LedgerTypes} from "./libraries/LedgerTypes.sol";

/// @title YuTrace (渝溯) trace ledger
/// @notice See {ITraceLedger}. Event bodies stay off-chain; this contract holds what must not depend
/// on trusting the gateway: roles, products, batches, lineage, recalls, serial roots and anchors.
contract TraceLedger is ITraceLedger, AccessControl, Pausable, EIP712, Nonces {
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");
    bytes32 public constant PRODUCER_ROLE = keccak256("PRODUCER_ROLE");
    bytes32 public constant INSPECTOR_ROLE = keccak256("INSPECTOR_ROLE");
    bytes32 public constant LOGISTICS_ROLE = keccak256("LOGISTICS_ROLE");
    bytes32 public constant RETAILER_ROLE = keccak256("RETAILER_ROLE");
    /// @notice The gateway's relayer key: it anchors roots and nothing else.
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    /// @notice Most input batches one batch may list (a hotpot base lists its chili, tallow, spices…).
    uint256 public constant MAX_PARENTS = 32;
    /// @notice Most ancestor entries `recalledAncestor` walks before giving up.
    uint256 public constant MAX_ANCESTOR_WALK = 256;

    mapping(bytes32 orgId => Organisation) private _organisations;
    mapping(address account => bytes32 orgId) private _orgOf;
    mapping(uint64 gtin => Product) private _products;
    mapping(bytes32 batchId => Batch) private _batches;
    mapping(bytes32 batchId => mapping(bytes32 root => uint32 count)) private _serialRoots;
    mapping(bytes32 root => Anchor) private _anchors;
    uint64 private _anchorCount;

    /// @param admin the platform operator (DEFAULT_ADMIN_ROLE): onboards organisations and grants roles
    constructor(address admin) EIP712("YuTrace TraceLedger", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ================================================================ organisations (admin)

    /// @inheritdoc ITraceLedger
    function registerOrganisation(
        bytes32 orgId,
        address account,
        bytes32[] calldata roles
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (orgId == bytes32(0) || account == address(0)) revert TraceLedgerInvalidOrganisation(orgId, account);
        if (_organisations[orgId].account != address(0)) revert TraceLedgerOrganisationExists(orgId);
        _requireUnusedAccount(account);
        for (uint256 i = 0; i < roles.length; ++i) {
            if (!_isParticipantRole(roles[i])) revert TraceLedgerInvalidRole(roles[i]);
        }
        _organisations[orgId] = Organisation({
            account: account,
            registeredAt: uint64(block.timestamp),
            suspended: false
        });
        _orgOf[account] = orgId;
        emit OrganisationRegistered(orgId, account);
        for (uint256 i = 0; i < roles.length; ++i) {
            _grantRole(roles[i], account);
        }
    }

    /// @inheritdoc ITraceLedger
    function rotateOrganisationAccount(bytes32 orgId, address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Organisation storage org = _requireOrganisation(orgId);
        if (account == address(0)) revert TraceLedgerInvalidOrganisation(orgId, account);
        _requireUnusedAccount(account);
        address previous = org.account;
        org.account = account;
        delete _orgOf[previous];
        _orgOf[account] = orgId;
        emit OrganisationAccountRotated(orgId, previous, account);
        bytes32[5] memory roles = _participantRoles();
        for (uint256 i = 0; i < roles.length; ++i) {
            if (_revokeRole(roles[i], previous)) _grantRole(roles[i], account);
        }
    }

    // ================================================================ suspension

    /// @inheritdoc ITraceLedger
    function suspendOrganisation(bytes32 orgId, bytes32 reasonHash) external {
        _suspendOrganisation(_msgSender(), orgId, reasonHash);
    }

    /// @inheritdoc ITraceLedger
    function suspendOrganisationBySig(bytes32 orgId, bytes32 reasonHash, Authorization calldata auth) external {
        bytes32 structHash = LedgerTypes.hashSuspend(auth.signer, orgId, reasonHash, auth.nonce, auth.deadline);
        _suspendOrganisation(_authorize(structHash, auth), orgId, reasonHash);
    }

    /// @inheritdoc ITraceLedger
    function reinstateOrganisation(bytes32 orgId) external {
        _reinstateOrganisation(_msgSender(), orgId);
    }

    /// @inheritdoc ITraceLedger
    function reinstateOrganisationBySig(bytes32 orgId, Authorization calldata auth) external {
        bytes32 structHash = LedgerTypes.hashReinstate(auth.signer, orgId, auth.nonce, auth.deadline);
        _reinstateOrganisation(_authorize(structHash, auth), orgId);
    }

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
    function getOrganisation(bytes32 orgId) external view returns (Organisation memory) {
        return _requireOrganisation(orgId);
    }

    /// @inheritdoc ITraceLedger
    function organisationOf(address account) external view returns (bytes32) {
        return _orgOf[account];
    }

    /// @inheritdoc ITraceLedger
    function hasActiveRole(bytes32 role, address account) external view returns (bool) {
        if (!hasRole(role, account)) return false;
        if (!_isParticipantRole(role)) return true;
        bytes32 orgId = _orgOf[account];
        return orgId != bytes32(0) && !_organisations[orgId].suspended;
    }

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

    function _suspendOrganisation(address actor, bytes32 orgId, bytes32 reasonHash) private whenNotPaused {
        bytes32 byOrg = _suspensionAuthority(actor);
        Organisation storage org = _requireOrganisation(orgId);
        if (org.suspended) revert TraceLedgerOrganisationSuspended(orgId);
        org.suspended = true;
        emit OrganisationSuspended(orgId, byOrg, reasonHash);
    }

    function _reinstateOrganisation(address actor, bytes32 orgId) private whenNotPaused {
        bytes32 byOrg = _suspensionAuthority(actor);
        Organisation storage org = _requireOrganisation(orgId);
        if (!org.suspended) revert TraceLedgerOrganisationNotSuspended(orgId);
        org.suspended = false;
        emit OrganisationReinstated(orgId, byOrg);
    }

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

    /// @dev Checks the EIP-712 request of `auth.signer` and uses up its nonce; returns the signer.
    /// Accepts ERC-1271 contract signers too, so an organisation may sign with a multisig.
    function _authorize(bytes32 structHash, Authorization calldata auth) private returns (address) {
        if (block.timestamp > auth.deadline) {
            revert TraceLedgerSignatureExpired(auth.signer, auth.deadline, block.timestamp);
        }
        uint256 expected = _useNonce(auth.signer);
        if (auth.nonce != expected) revert TraceLedgerInvalidNonce(auth.signer, auth.nonce, expected);
        bytes32 digest = _hashTypedDataV4(structHash);
        if (!SignatureChecker.isValidSignatureNow(auth.signer, digest, auth.signature)) {
            revert TraceLedgerInvalidSignature(auth.signer, digest);
        }
        return auth.signer;
    }

    /// @dev `account` must hold `role` and sign for an organisation that is not suspended.
    function _participant(address account, bytes32 role) private view returns (bytes32) {
        _checkRole(role, account);
        return _activeOrganisationOf(account);
    }

    function _activeOrganisationOf(address account) private view returns (bytes32 orgId) {
        orgId = _orgOf[account];
        if (orgId == bytes32(0)) revert TraceLedgerNotAnOrganisation(account);
        if (_organisations[orgId].suspended) revert TraceLedgerOrganisationSuspended(orgId);
    }

    /// @dev The platform admin (reported as organisation zero) or an active regulator.
    function _suspensionAuthority(address account) private view returns (bytes32) {
        if (hasRole(DEFAULT_ADMIN_ROLE, account)) return bytes32(0);
        return _participant(account, REGULATOR_ROLE);
    }

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

    function _requireUnusedAccount(address account) private view {
        bytes32 current = _orgOf[account];
        if (current != bytes32(0)) revert TraceLedgerAccountInUse(account, current);
    }

    function _requireOrganisation(bytes32 orgId) private view returns (Organisation storage org) {
        org = _organisations[orgId];
        if (org.account == address(0)) revert TraceLedgerUnknownOrganisation(orgId);
    }

    function _requireProduct(uint64 gtin) private view returns (Product storage product) {
        product = _products[gtin];
        if (product.owner == bytes32(0)) revert TraceLedgerUnknownProduct(gtin);
    }

    function _requireBatch(bytes32 batchId) private view returns (Batch storage batch) {
        batch = _batches[batchId];
        if (batch.status == BatchStatus.None) revert TraceLedgerUnknownBatch(batchId);
    }

    function _participantRoles() private pure returns (bytes32[5] memory) {
        return [REGULATOR_ROLE, PRODUCER_ROLE, INSPECTOR_ROLE, LOGISTICS_ROLE, RETAILER_ROLE];
    }

    function _isParticipantRole(bytes32 role) private pure returns (bool) {
        return
            role == REGULATOR_ROLE ||
            role == PRODUCER_ROLE ||
            role == INSPECTOR_ROLE ||
            role == LOGISTICS_ROLE ||
            role == RETAILER_ROLE;
    }
}
