/**
 * Imported first by the emulator's and the runner's entry points (`cdk-rekognition-custom-labels/emulator`,
 * `/runner`): without the offline tools' packages they fail at once with one message that names the missing
 * packages and the command that installs them, instead of a `Cannot find module` from deep inside.
 */
import { assertOfflinePackages } from './offline-packages';

assertOfflinePackages('cdk-rekognition-custom-labels/emulator (and /runner)');
