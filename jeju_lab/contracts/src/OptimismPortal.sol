// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface ISuperchainConfig {
    function paused() external view returns (bool);
    function guardian() external view returns (address);
}

/// @title OptimismPortal (lab, minimal and deliberately vulnerable)
/// @notice Holds the bridge's ETH (its TVL) and keeps the real portal's deposit ABI and event. Its
///         withdrawal path is the lab's "exploit": `finalizeWithdrawalTransaction` checks neither a proof nor
///         an output root, so anyone can pull ETH out while the portal is not paused. Once the
///         SuperchainConfig is paused it reverts with "OptimismPortal: paused", as the real portal does.
contract OptimismPortal {
    /// @notice The real portal's withdrawal struct (Types.WithdrawalTransaction).
    struct WithdrawalTransaction {
        uint256 nonce;
        address sender;
        address target;
        uint256 value;
        uint256 gasLimit;
        bytes data;
    }

    uint256 internal constant DEPOSIT_VERSION = 0;
    uint64 internal constant RECEIVE_DEFAULT_GAS_LIMIT = 100_000;
    address internal constant DEFAULT_L2_SENDER = 0x000000000000000000000000000000000000dEaD;
    uint160 internal constant L1_TO_L2_ALIAS_OFFSET = uint160(0x1111000000000000000000000000000000001111);

    ISuperchainConfig public immutable superchainConfig;
    address public immutable l2Oracle;

    /// @notice The L2 sender of the withdrawal being finalized; DEFAULT_L2_SENDER outside one.
    address public l2Sender = DEFAULT_L2_SENDER;
    mapping(bytes32 => bool) public finalizedWithdrawals;

    event TransactionDeposited(address indexed from, address indexed to, uint256 indexed version, bytes opaqueData);

    event WithdrawalFinalized(bytes32 indexed withdrawalHash, bool success);

    string public constant version = "2.8.0-lab";

    modifier whenNotPaused() {
        require(!paused(), "OptimismPortal: paused");
        _;
    }

    constructor(ISuperchainConfig _superchainConfig, address _l2Oracle) {
        superchainConfig = _superchainConfig;
        l2Oracle = _l2Oracle;
    }

    receive() external payable {
        depositTransaction(msg.sender, msg.value, RECEIVE_DEFAULT_GAS_LIMIT, false, bytes(""));
    }

    /// @notice Adds ETH to the portal without making a deposit (how the lab funds its TVL).
    function donateETH() external payable {}

    function paused() public view returns (bool) {
        return superchainConfig.paused();
    }

    function guardian() external view returns (address) {
        return superchainConfig.guardian();
    }

    function minimumGasLimit(uint64 _byteCount) public pure returns (uint64) {
        return _byteCount * 16 + 21000;
    }

    /// @notice Locks msg.value and emits the deposit event op-node derives L2 deposits from.
    function depositTransaction(
        address _to,
        uint256 _value,
        uint64 _gasLimit,
        bool _isCreation,
        bytes memory _data
    )
        public
        payable
    {
        require(!_isCreation || _to == address(0), "OptimismPortal: must send to address(0) when creating a contract");
        require(_gasLimit >= minimumGasLimit(uint64(_data.length)), "OptimismPortal: gas limit too small");
        require(_data.length <= 120_000, "OptimismPortal: data too large");

        address from = msg.sender;
        if (msg.sender != tx.origin) {
            unchecked {
                from = address(uint160(msg.sender) + L1_TO_L2_ALIAS_OFFSET);
            }
        }
        bytes memory opaqueData = abi.encodePacked(msg.value, _value, _gasLimit, _isCreation, _data);
        emit TransactionDeposited(from, _to, DEPOSIT_VERSION, opaqueData);
    }

    /// @notice THE LAB'S BUG: finalizes any withdrawal with no proof and no output root check.
    function finalizeWithdrawalTransaction(WithdrawalTransaction memory _tx) external whenNotPaused {
        require(l2Sender == DEFAULT_L2_SENDER, "OptimismPortal: can only trigger one withdrawal per transaction");
        require(_tx.target != address(this), "OptimismPortal: cannot send messages to the portal contract");
        bytes32 withdrawalHash = hashWithdrawal(_tx);
        require(!finalizedWithdrawals[withdrawalHash], "OptimismPortal: withdrawal has already been finalized");
        finalizedWithdrawals[withdrawalHash] = true;

        l2Sender = _tx.sender;
        (bool success,) = _tx.target.call{ value: _tx.value, gas: _tx.gasLimit }(_tx.data);
        l2Sender = DEFAULT_L2_SENDER;

        emit WithdrawalFinalized(withdrawalHash, success);
    }

    function hashWithdrawal(WithdrawalTransaction memory _tx) public pure returns (bytes32) {
        return keccak256(abi.encode(_tx.nonce, _tx.sender, _tx.target, _tx.value, _tx.gasLimit, _tx.data));
    }
}
