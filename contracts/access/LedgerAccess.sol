// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {ITraceLedger} from "../interfaces/ITraceLedger.sol";
import {LedgerTypes} from "../libraries/LedgerTypes.sol";

/// @title Who may write to the trace ledger
/// @notice Roles, organisations (keyed by the hash of their 统一社会信用代码), key rotation,
/// suspension, and the EIP-712 authorisation behind every `…BySig` write. {TraceLedger} builds the
/// ledger itself on top.
abstract contract LedgerAccess is ITraceLedger, AccessControl, Pausable, EIP712, Nonces {
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");
    bytes32 public constant PRODUCER_ROLE = keccak256("PRODUCER_ROLE");
    bytes32 public constant INSPECTOR_ROLE = keccak256("INSPECTOR_ROLE");
    bytes32 public constant LOGISTICS_ROLE = keccak256("LOGISTICS_ROLE");
    bytes32 public constant RETAILER_ROLE = keccak256("RETAILER_ROLE");
    /// @notice The gateway's relayer key: it anchors roots and nothing else.
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    mapping(bytes32 orgId => Organisation) private _organisations;
    mapping(address account => bytes32 orgId) private _orgOf;
    mapping(address account => bool) private _retired;

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
        _retired[previous] = true;
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

    // ================================================================ checks, shared with TraceLedger

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

    /// @dev Checks the EIP-712 request of `auth.signer` and uses up its nonce; returns the signer.
    /// Accepts ERC-1271 contract signers too, so an organisation may sign with a multisig.
    function _authorize(bytes32 structHash, Authorization calldata auth) internal returns (address) {
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
    function _participant(address account, bytes32 role) internal view returns (bytes32) {
        _checkRole(role, account);
        return _activeOrganisationOf(account);
    }

    function _activeOrganisationOf(address account) internal view returns (bytes32 orgId) {
        orgId = _orgOf[account];
        if (orgId == bytes32(0)) revert TraceLedgerNotAnOrganisation(account);
        if (_organisations[orgId].suspended) revert TraceLedgerOrganisationSuspended(orgId);
    }

    /// @dev The platform admin (reported as organisation zero) or an active regulator.
    function _suspensionAuthority(address account) private view returns (bytes32) {
        if (hasRole(DEFAULT_ADMIN_ROLE, account)) return bytes32(0);
        return _participant(account, REGULATOR_ROLE);
    }

    function _requireUnusedAccount(address account) private view {
        bytes32 current = _orgOf[account];
        if (current != bytes32(0)) revert TraceLedgerAccountInUse(account, current);
        if (_retired[account]) revert TraceLedgerAccountRetired(account);
    }

    function _requireOrganisation(bytes32 orgId) private view returns (Organisation storage org) {
        org = _organisations[orgId];
        if (org.account == address(0)) revert TraceLedgerUnknownOrganisation(orgId);
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
