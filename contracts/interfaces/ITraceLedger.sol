// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title YuTrace (渝溯) trace ledger
/// @notice The on-chain half of YuTrace: who may write, which products and batches (追溯单元) exist,
/// their lineage, recalls, item-serial commitments and the Merkle anchors of off-chain trace events.
/// @dev Organisations are identified by `orgId = keccak256(bytes(统一社会信用代码))`, the hash of
/// their subject code (主体码, GB/T 38155). Products and batches are owned by an `orgId`, not by an
/// address, so that an organisation's signing key can be rotated without losing what it owns.
/// Every participant write exists in two forms: direct (`msg.sender` acts) and `…BySig`, where
/// anyone (normally the gateway's relayer) submits an EIP-712 signature of the acting account.
interface ITraceLedger {
    // ---------------------------------------------------------------- types

    /// @notice Life-cycle of a batch. `Recalled` is final.
    enum BatchStatus {
        None,
        Active,
        Held,
        Recalled
    }

    /// @notice An organisation (企业/机构) and the one account that currently signs for it.
    struct Organisation {
        address account;
        uint64 registeredAt;
        bool suspended;
    }

    /// @notice A product, keyed by its GTIN-14.
    struct Product {
        bytes32 owner;
        bytes32 metadataHash;
        uint64 registeredAt;
    }

    /// @notice A production batch (追溯单元), keyed by `keccak256(abi.encode(gtin, lot))`.
    struct Batch {
        bytes32 producer;
        bytes32 metadataHash;
        uint64 gtin;
        uint64 registeredAt;
        BatchStatus status;
        bytes32[] parents;
    }

    /// @notice An anchored Merkle root of event submissions.
    struct Anchor {
        uint64 seq;
        uint64 blockNumber;
        uint64 blockTime;
        uint32 leafCount;
        uint32 eventCount;
    }

    /// @notice Who signed a `…BySig` request, which of their nonces it uses and until when it is valid.
    struct Authorization {
        address signer;
        uint256 nonce;
        uint256 deadline;
        bytes signature;
    }

    // ---------------------------------------------------------------- errors

    /// @notice `gtin` is not a GTIN-14 with a valid check digit.
    error TraceLedgerInvalidGtin(uint64 gtin);
    /// @notice `lot` is empty, longer than 20 characters, or has a character outside GS1 AI 82.
    error TraceLedgerInvalidLot(string lot);
    /// @notice The organisation id or account is zero.
    error TraceLedgerInvalidOrganisation(bytes32 orgId, address account);
    /// @notice `orgId` is already registered.
    error TraceLedgerOrganisationExists(bytes32 orgId);
    /// @notice `account` already signs for organisation `orgId`.
    error TraceLedgerAccountInUse(address account, bytes32 orgId);
    /// @notice `account` was rotated away from an organisation and can never sign for one again, so
    /// that requests it signed earlier cannot act for another organisation.
    error TraceLedgerAccountRetired(address account);
    /// @notice No organisation has the id `orgId`.
    error TraceLedgerUnknownOrganisation(bytes32 orgId);
    /// @notice `account` does not sign for any organisation.
    error TraceLedgerNotAnOrganisation(address account);
    /// @notice Organisation `orgId` is suspended and can do nothing.
    error TraceLedgerOrganisationSuspended(bytes32 orgId);
    /// @notice Organisation `orgId` is not suspended.
    error TraceLedgerOrganisationNotSuspended(bytes32 orgId);
    /// @notice `role` is not one an organisation can hold.
    error TraceLedgerInvalidRole(bytes32 role);
    /// @notice A product with this GTIN is already registered, by `owner`.
    error TraceLedgerProductExists(uint64 gtin, bytes32 owner);
    /// @notice No product has this GTIN.
    error TraceLedgerUnknownProduct(uint64 gtin);
    /// @notice Organisation `orgId` does not own the product `gtin`.
    error TraceLedgerNotProductOwner(uint64 gtin, bytes32 orgId);
    /// @notice A batch with this id is already registered.
    error TraceLedgerBatchExists(bytes32 batchId);
    /// @notice No batch has this id.
    error TraceLedgerUnknownBatch(bytes32 batchId);
    /// @notice Organisation `orgId` is not the producer of batch `batchId`.
    error TraceLedgerNotBatchProducer(bytes32 batchId, bytes32 orgId);
    /// @notice A batch lists `count` parents; at most `max` are allowed.
    error TraceLedgerTooManyParents(uint256 count, uint256 max);
    /// @notice `parent` is listed twice among a batch's parents.
    error TraceLedgerDuplicateParent(bytes32 parent);
    /// @notice Input batch `parent` is `status`, and only an active batch can be an input.
    error TraceLedgerParentNotActive(bytes32 parent, BatchStatus status);
    /// @notice Batch `batchId` is recalled; nothing can change it any more.
    error TraceLedgerBatchRecalled(bytes32 batchId);
    /// @notice Batch `batchId` cannot go from `from` to `to`.
    error TraceLedgerInvalidStatusTransition(bytes32 batchId, BatchStatus from, BatchStatus to);
    /// @notice The lineage of `batchId` has more than `limit` ancestors to walk on-chain.
    error TraceLedgerLineageTooLarge(bytes32 batchId, uint256 limit);
    /// @notice A serial commitment with a zero root or zero count.
    error TraceLedgerInvalidSerialCommitment(bytes32 batchId, bytes32 root, uint32 count);
    /// @notice `root` is already committed for batch `batchId`.
    error TraceLedgerSerialsExist(bytes32 batchId, bytes32 root);
    /// @notice An anchor with a zero root, no leaves, or fewer events than leaves.
    error TraceLedgerInvalidAnchor(bytes32 root, uint32 leafCount, uint32 eventCount);
    /// @notice `root` is already anchored, as anchor number `seq`.
    error TraceLedgerAnchorExists(bytes32 root, uint64 seq);
    /// @notice `root` has not been anchored.
    error TraceLedgerUnknownAnchor(bytes32 root);
    /// @notice The signature does not come from `signer` for this request on this chain and ledger.
    error TraceLedgerInvalidSignature(address signer, bytes32 digest);
    /// @notice The request expired at `deadline`; the block time is `timestamp`.
    error TraceLedgerSignatureExpired(address signer, uint256 deadline, uint256 timestamp);
    /// @notice The request uses nonce `nonce` of `signer`, whose next nonce is `expected`.
    error TraceLedgerInvalidNonce(address signer, uint256 nonce, uint256 expected);

    // ---------------------------------------------------------------- events

    /// @notice Organisation `orgId` was registered, signing with `account`.
    event OrganisationRegistered(bytes32 indexed orgId, address indexed account);
    /// @notice Organisation `orgId` now signs with `account` instead of `previousAccount`.
    event OrganisationAccountRotated(bytes32 indexed orgId, address indexed previousAccount, address indexed account);
    /// @notice Organisation `orgId` was suspended by `byOrg` (zero when the platform admin did it).
    event OrganisationSuspended(bytes32 indexed orgId, bytes32 indexed byOrg, bytes32 reasonHash);
    /// @notice Organisation `orgId` was reinstated by `byOrg` (zero when the platform admin did it).
    event OrganisationReinstated(bytes32 indexed orgId, bytes32 indexed byOrg);
    /// @notice Product `gtin` was registered by producer `owner`.
    event ProductRegistered(uint64 indexed gtin, bytes32 indexed owner, bytes32 metadataHash);
    /// @notice Batch `batchId` of product `gtin`, lot `lot`, was registered by `producer`.
    event BatchRegistered(
        bytes32 indexed batchId,
        uint64 indexed gtin,
        bytes32 indexed producer,
        string lot,
        bytes32 metadataHash,
        bytes32[] parents
    );
    /// @notice Batch `batchId` went from `previous` to `status`, by organisation `byOrg`, for `reasonHash`.
    event BatchStatusChanged(
        bytes32 indexed batchId,
        BatchStatus indexed status,
        bytes32 indexed byOrg,
        BatchStatus previous,
        bytes32 reasonHash
    );
    /// @notice `count` item serials of batch `batchId` were committed under Merkle root `root`.
    event SerialsCommitted(bytes32 indexed batchId, bytes32 indexed root, uint32 count);
    /// @notice Anchor number `seq`: Merkle root `root` of `leafCount` submissions holding `eventCount` events.
    event Anchored(uint64 indexed seq, bytes32 indexed root, uint32 leafCount, uint32 eventCount);

    // ---------------------------------------------------------------- organisations (platform admin)

    /// @notice Registers organisation `orgId` that signs with `account`, and grants it `roles`.
    /// @dev Admin only. `roles` may only hold the participant roles (regulator, producer, inspector,
    /// logistics, retailer). Works while paused, so the operator can respond to an incident.
    function registerOrganisation(bytes32 orgId, address account, bytes32[] calldata roles) external;

    /// @notice Moves organisation `orgId`, with its roles, to a new signing account (key rotation).
    /// @dev Admin only. The previous account loses every participant role at once and is retired:
    /// it can never be registered again, so its old signed requests cannot act for anyone.
    function rotateOrganisationAccount(bytes32 orgId, address account) external;

    // ---------------------------------------------------------------- participant writes

    /// @notice Suspends organisation `orgId`: from this block none of its roles work.
    /// @dev Platform admin, or an active regulator. Refused while paused, like every participant
    /// write; during a pause the admin contains a compromised organisation by revoking its roles or
    /// rotating its account.
    function suspendOrganisation(bytes32 orgId, bytes32 reasonHash) external;

    /// @notice `suspendOrganisation` signed by `auth.signer`.
    function suspendOrganisationBySig(bytes32 orgId, bytes32 reasonHash, Authorization calldata auth) external;

    /// @notice Lifts the suspension of organisation `orgId`.
    /// @dev Platform admin, or an active regulator.
    function reinstateOrganisation(bytes32 orgId) external;

    /// @notice `reinstateOrganisation` signed by `auth.signer`.
    function reinstateOrganisationBySig(bytes32 orgId, Authorization calldata auth) external;

    /// @notice Registers product `gtin` (GTIN-14, check digit verified) owned by the caller's organisation.
    /// @dev Producer only. `metadataHash` commits to the off-chain product record (names, category, 执行标准).
    function registerProduct(uint64 gtin, bytes32 metadataHash) external;

    /// @notice `registerProduct` signed by `auth.signer`.
    function registerProductBySig(uint64 gtin, bytes32 metadataHash, Authorization calldata auth) external;

    /// @notice Registers the batch `lot` of product `gtin`, made from the input batches `parents`.
    /// @dev Producer that owns `gtin` only. `lot` follows GS1 AI 10 (1–20 characters of GS1 AI 82).
    /// At most `MAX_PARENTS` distinct parents, each an existing, active batch.
    /// @return batchId `keccak256(abi.encode(gtin, lot))`
    function registerBatch(
        uint64 gtin,
        string calldata lot,
        bytes32 metadataHash,
        bytes32[] calldata parents
    ) external returns (bytes32 batchId);

    /// @notice `registerBatch` signed by `auth.signer`.
    function registerBatchBySig(
        uint64 gtin,
        string calldata lot,
        bytes32 metadataHash,
        bytes32[] calldata parents,
        Authorization calldata auth
    ) external returns (bytes32 batchId);

    /// @notice Commits the Merkle root of `count` item serials of batch `batchId` (一物一码).
    /// @dev The batch's producer only; a batch may have several commitments. Leaves are
    /// `serialLeaf(batchId, serial)`; see `verifySerial`.
    function commitSerials(bytes32 batchId, bytes32 root, uint32 count) external;

    /// @notice `commitSerials` signed by `auth.signer`.
    function commitSerialsBySig(bytes32 batchId, bytes32 root, uint32 count, Authorization calldata auth) external;

    /// @notice Puts active batch `batchId` on hold (e.g. a non-conformant inspection).
    /// @dev A regulator, an inspector, or the batch's producer.
    function holdBatch(bytes32 batchId, bytes32 reasonHash) external;

    /// @notice `holdBatch` signed by `auth.signer`.
    function holdBatchBySig(bytes32 batchId, bytes32 reasonHash, Authorization calldata auth) external;

    /// @notice Returns held batch `batchId` to active.
    /// @dev Regulator only.
    function releaseBatch(bytes32 batchId, bytes32 reasonHash) external;

    /// @notice `releaseBatch` signed by `auth.signer`.
    function releaseBatchBySig(bytes32 batchId, bytes32 reasonHash, Authorization calldata auth) external;

    /// @notice Recalls batch `batchId` for `reasonHash`. Final: a recalled batch never changes again.
    /// @dev A regulator, or the batch's producer. Batches made from it show it through `recalledAncestor`.
    function recall(bytes32 batchId, bytes32 reasonHash) external;

    /// @notice `recall` signed by `auth.signer`.
    function recallBySig(bytes32 batchId, bytes32 reasonHash, Authorization calldata auth) external;

    // ---------------------------------------------------------------- anchoring and pause

    /// @notice Anchors the Merkle root of `leafCount` event submissions holding `eventCount` events.
    /// @dev Anchorer only (the gateway's relayer key); one call per anchor interval.
    /// @return seq the anchor's sequence number, starting at 1 and strictly increasing
    function anchor(bytes32 root, uint32 leafCount, uint32 eventCount) external returns (uint64 seq);

    /// @notice Stops every participant write and anchoring; reads keep working. Admin only.
    function pause() external;

    /// @notice Ends a pause. Admin only.
    function unpause() external;

    // ---------------------------------------------------------------- reads

    /// @notice The organisation `orgId`; reverts `TraceLedgerUnknownOrganisation` if none.
    function getOrganisation(bytes32 orgId) external view returns (Organisation memory);

    /// @notice The organisation `account` signs for, or zero.
    function organisationOf(address account) external view returns (bytes32 orgId);

    /// @notice Whether `account` holds `role` and, for participant roles, signs for an organisation
    /// that is not suspended. Call it at a past block to learn what held then.
    function hasActiveRole(bytes32 role, address account) external view returns (bool);

    /// @notice The product `gtin`; reverts `TraceLedgerUnknownProduct` if none.
    function getProduct(uint64 gtin) external view returns (Product memory);

    /// @notice The batch `batchId`; reverts `TraceLedgerUnknownBatch` if none.
    function getBatch(bytes32 batchId) external view returns (Batch memory);

    /// @notice The id of batch `lot` of product `gtin`: `keccak256(abi.encode(gtin, lot))`.
    function batchIdOf(uint64 gtin, string calldata lot) external pure returns (bytes32);

    /// @notice The first recalled ancestor of `batchId` found breadth-first (the batch itself excluded).
    /// @dev Queues at most `MAX_ANCESTOR_WALK` ancestor entries (a batch reached by two paths counts
    /// twice); reverts `TraceLedgerLineageTooLarge` if the lineage is larger and no recall was found
    /// among the entries checked. Each batch has at most `MAX_PARENTS` parents.
    function recalledAncestor(bytes32 batchId) external view returns (bool recalled, bytes32 ancestor);

    /// @notice How many serials root `root` commits for batch `batchId`; zero if not committed.
    function serialCommitment(bytes32 batchId, bytes32 root) external view returns (uint32 count);

    /// @notice The Merkle leaf of item `serial` of batch `batchId`:
    /// `keccak256(bytes.concat(keccak256(abi.encode(batchId, serial))))` (OpenZeppelin StandardMerkleTree).
    function serialLeaf(bytes32 batchId, string calldata serial) external pure returns (bytes32);

    /// @notice Whether `serial` is an item of batch `batchId` committed under `root`, by `proof`.
    function verifySerial(
        bytes32 batchId,
        string calldata serial,
        bytes32 root,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice The anchor of `root`; reverts `TraceLedgerUnknownAnchor` if it was never anchored.
    function getAnchor(bytes32 root) external view returns (Anchor memory);

    /// @notice How many anchors there are; the last one has this sequence number.
    function anchorCount() external view returns (uint64);

    /// @notice Whether `root` is anchored and `proof` proves `leaf` under it (sorted-pair Merkle tree).
    /// @dev Like any plain Merkle proof this also accepts an inner node as `leaf`. Leaves of an anchor
    /// are submission digests (`hashSubmission`), so a verifier must also check the organisation's
    /// signature over the leaf; an inner node carries no such signature.
    function verifyAnchoredLeaf(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool);

    /// @notice The EIP-712 digest an organisation signs for an event submission:
    /// `Submission(address org,bytes32 root,uint32 count,uint256 nonce)` in this ledger's domain.
    /// @dev Submissions are signed off-chain and anchored as leaves; `nonce` is the gateway's
    /// per-organisation submission counter, not the on-chain `nonces` used by `…BySig` requests.
    function hashSubmission(address org, bytes32 root, uint32 count, uint256 nonce) external view returns (bytes32);
}
