// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {IERC6372} from "@openzeppelin/contracts/interfaces/IERC6372.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

/// @title ModelToken
/// @notice The modeldao governance token: ERC-20 with EIP-2612 permits and ERC-5805 voting checkpoints.
/// @dev Uses an ERC-6372 timestamp clock, so the governor's delays and periods are in seconds on every
/// chain (a local chain mines on demand, so block numbers there say nothing about elapsed time).
/// The whole supply is minted once, at deployment.
contract ModelToken is ERC20, ERC20Permit, ERC20Votes {
    /// @dev `recipients` and `amounts` differ in length.
    error ModelTokenDistributionLengthMismatch(uint256 recipients, uint256 amounts);

    constructor(string memory name_, string memory symbol_, address[] memory recipients, uint256[] memory amounts)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
    {
        if (recipients.length != amounts.length) {
            revert ModelTokenDistributionLengthMismatch(recipients.length, amounts.length);
        }
        for (uint256 i = 0; i < recipients.length; ++i) {
            _mint(recipients[i], amounts[i]);
        }
    }

    /// @inheritdoc IERC6372
    function clock() public view virtual override returns (uint48) {
        return Time.timestamp();
    }

    /// @inheritdoc IERC6372
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public view virtual override returns (string memory) {
        return "mode=timestamp";
    }

    // The following functions are overrides required by Solidity.

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
