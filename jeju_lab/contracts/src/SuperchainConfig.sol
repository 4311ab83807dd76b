// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title SuperchainConfig (lab, v1 interface)
/// @notice The v1.x pause interface of the OP Stack SuperchainConfig: `pause(string)`, `unpause()`,
///         `paused()`, `guardian()`. Only the guardian (the lab's 2-of-3 Safe) may pause or unpause.
///         Non-upgradeable: the guardian is fixed at construction.
contract SuperchainConfig {
    enum UpdateType {
        GUARDIAN
    }

    address private guardianAddress;
    bool private pausedFlag;

    event Paused(string identifier);

    event Unpaused();

    event ConfigUpdate(UpdateType indexed updateType, bytes data);

    string public constant version = "1.1.0";

    constructor(address _guardian, bool _paused) {
        guardianAddress = _guardian;
        emit ConfigUpdate(UpdateType.GUARDIAN, abi.encode(_guardian));
        if (_paused) {
            _pause("Initializer paused");
        }
    }

    function guardian() public view returns (address) {
        return guardianAddress;
    }

    function paused() public view returns (bool) {
        return pausedFlag;
    }

    /// @param _identifier A string identifying the provenance of the pause (free text).
    function pause(string memory _identifier) external {
        require(msg.sender == guardian(), "SuperchainConfig: only guardian can pause");
        _pause(_identifier);
    }

    function unpause() external {
        require(msg.sender == guardian(), "SuperchainConfig: only guardian can unpause");
        pausedFlag = false;
        emit Unpaused();
    }

    function _pause(string memory _identifier) internal {
        pausedFlag = true;
        emit Paused(_identifier);
    }
}
